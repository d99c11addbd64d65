"""The ingest worker: one background thread per server process runs every write the
server makes (API pushes, chat uploads, feed polls and their retention), one job at a
time, from a queue.

* Each job holds the data home's writer lock while it writes (`Assistant.ingest`), so a
  terminal `newsqa ingest` and the worker never write at once; asks take no lock and never
  wait for the worker.
* Jobs only add or update articles (`drop_missing=False`), except retention (`prune`
  jobs, NEWSQA_INGEST__KEEP_DAYS after a feed poll), which removes old ones. Articles are
  keyed by id and skipped when their hash is unchanged, so two pushes of the same article
  leave one.
* After a job that added, changed or removed articles, the watched questions it could
  affect are asked again (`Assistant.recheck_watches`), before the job is done; at start,
  the thread first re-checks what a killed process left due.
* Job state lives on disk (`ui.jobs`): at start-up, a job a dead process left
  queued or running is queued again (or failed, naming why), never silently lost.

    worker = IngestWorker(bot)
    worker.start()
    job = worker.submit_records([{"text": "..."}])
    worker.wait(job.id, timeout=60).state  # "done"
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from assistant.errors import AssistantError
from index.errors import NewsIndexError, ParseError
from ui.jobs import Job, JobStore, interrupted, now, owner_alive

if TYPE_CHECKING:
    from assistant.service import Assistant
    from index.ingest import IngestReport

log = logging.getLogger(__name__)
SAVE_SECONDS = 0.5  # progress reaches the job file at most this often
KEEP_FINISHED = 1000  # finished jobs held in memory (all stay on disk)


class IngestWorker:
    """Runs ingest jobs in one background thread; submit returns at once."""

    def __init__(self, bot: Assistant, save_seconds: float = SAVE_SECONDS) -> None:
        self.bot = bot
        self.store = JobStore(bot.settings.home)
        self.save_seconds = save_seconds
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._jobs: dict[str, Job] = {}  # this process's jobs, newest state
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> list[Job]:
        """Take up the jobs a stopped or killed server left queued or running, then
        start the thread. Returns the jobs taken up (queued again, or failed)."""
        taken = []
        for job in self.store.all():
            if job.pending and job.id not in self._jobs and not owner_alive(job.owner):
                job = interrupted(job)
                self._set(job, save=True)
                if job.pending:
                    self._queue.put(job.id)
                    log.info("ingest job %s was interrupted; running it again", job.id)
                else:
                    log.warning("ingest job %s failed: %s", job.id, job.errors[-1])
                taken.append(job)
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="newsqa-ingest",
                                            daemon=True)
            self._thread.start()
        return taken

    def stop(self, timeout: float | None = 30.0) -> None:
        """Finish the running job and stop; queued jobs stay on disk for the next start."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    # -- submitting ---------------------------------------------------------------------
    def submit_records(self, records: Sequence[Mapping[str, Any] | None],
                       rejected: Sequence[str] = ()) -> Job:
        """Queue validated article records (the `newsqa ingest` JSONL format), in the
        order of the request, with None in the place of each refused one; `rejected`
        says why they were refused (kept in the job's errors)."""
        job_id = self.store.new_id()
        path = self.store.write_records(job_id, records)
        count = sum(1 for r in records if r is not None)
        job = Job(job_id, "queued", "api", f"{count} article(s)", (str(path),),
                  articles_total=count, errors=tuple(rejected))
        return self._submit(job)

    def submit_files(self, paths: Sequence[Path], name: str, *,
                     kind: Literal["upload", "follow"] = "upload",
                     errors: Sequence[str] = ()) -> Job:
        """Queue article files already saved under the data home (chat uploads, pages
        fetched by a feed poll); `errors` are problems met before (kept in the job)."""
        job = Job(self.store.new_id(), "queued", kind, name,
                  tuple(str(p) for p in paths), errors=tuple(errors))
        return self._submit(job)

    def submit_prune(self) -> Job:
        """Queue retention: remove the articles older than NEWSQA_INGEST__KEEP_DAYS (as
        that setting is when the job runs), like any write, one job at a time."""
        days = self.bot.settings.ingest.keep_days
        job = Job(self.store.new_id(), "queued", "prune",
                  f"articles older than {days:g} day(s)" if days else "articles too old", ())
        return self._submit(job)

    def recent(self, limit: int = 50) -> list[Job]:
        """The newest jobs, this process's and earlier ones (from disk), newest first."""
        with self._changed:
            mine = dict(self._jobs)
        jobs = {j.id: j for j in self.store.all()}
        jobs.update(mine)
        return sorted(jobs.values(), key=lambda j: j.created, reverse=True)[:limit]

    def _submit(self, job: Job) -> Job:
        self._set(job, save=True)
        self._queue.put(job.id)
        return job

    # -- reading ------------------------------------------------------------------------
    def job(self, job_id: str) -> Job | None:
        """A job by id (also one of an earlier run, from disk), or None."""
        with self._changed:
            found = self._jobs.get(job_id)
        return found if found is not None else self.store.load(job_id)

    def counts(self) -> dict[str, int]:
        """Queued and running jobs of this process."""
        with self._changed:
            states = [j.state for j in self._jobs.values()]
        return {"queued": states.count("queued"), "running": states.count("running")}

    def wait(self, job_id: str, timeout: float | None = None) -> Job | None:
        """Block until the job is done or failed (or `timeout` passes); its state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                job = self._jobs.get(job_id)
                if job is None or not job.pending:
                    break
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._changed.wait(left if left is not None else 1.0)
        return self.job(job_id)

    # -- running ------------------------------------------------------------------------
    def _set(self, job: Job, save: bool) -> None:
        with self._changed:
            self._jobs[job.id] = job
            if len(self._jobs) > KEEP_FINISHED and not job.pending:
                # Finished jobs are on disk: keep memory bounded on a long-running server.
                done = [i for i, j in self._jobs.items() if not j.pending and i != job.id]
                for old in done[:KEEP_FINISHED // 2]:
                    del self._jobs[old]
            self._changed.notify_all()
        if save:
            self.store.save(job)

    def _loop(self) -> None:
        # Watches a killed process left due (or what was indexed while none re-checked)
        # are re-checked before the first job, in this thread like any write's re-check.
        self.bot.recheck_watches()
        while (job_id := self._queue.get()) is not None:
            job = self.job(job_id)
            if job is None or not job.pending:
                continue
            try:
                self._run(job)
            except Exception:  # never let one job end the worker
                log.exception("ingest job %s", job_id)

    def _run(self, job: Job) -> None:
        saved = time.monotonic()

        def progress(done: int, total: int, chunks: int) -> None:
            nonlocal job, saved
            # The first call comes once the writer lock is held and the input read: until
            # then (another writer, say a terminal ingest, may hold the lock) it is queued.
            first = job.state == "queued"
            job = replace(job, state="running", started=job.started or now(),
                          articles_done=done, articles_total=total, chunks_embedded=chunks)
            due = first or time.monotonic() - saved >= self.save_seconds
            self._set(job, save=due)
            if due:
                saved = time.monotonic()

        try:
            if job.kind == "prune":
                self._set(self._prune(job), save=True)
                return
            report = self.bot.ingest([Path(p) for p in job.inputs], drop_missing=False,
                                     wait=True, on_progress=progress)
        except Exception as exc:
            if not isinstance(exc, (AssistantError, NewsIndexError)):
                log.exception("ingest job %s failed", job.id)
            reason = (str(exc) if isinstance(exc, (AssistantError, NewsIndexError)) else
                      f"indexing stopped ({type(exc).__name__}); the server log has "
                      "the details. Articles indexed before it stay; push the rest again")
            self._set(replace(job, state="failed", started=job.started or now(),
                              finished=now(), errors=(*job.errors, reason)), save=True)
            return
        self._set(finished(job, report), save=True)

    def _prune(self, job: Job) -> Job:
        """Run a retention job; its state when done."""
        job = replace(job, state="running", started=now())
        self._set(job, save=True)
        days = self.bot.settings.ingest.keep_days
        if days is None:  # set when queued, not now (a restart without it)
            return replace(job, state="done", finished=now(), errors=(
                "NEWSQA_INGEST__KEEP_DAYS is not set; nothing pruned",))
        report = self.bot.prune(days, wait=True)
        return replace(job, state="done", finished=now(), removed=len(report.removed))


def finished(job: Job, report: IngestReport) -> Job:
    """The job's final state from what the ingest did."""
    errors = [*job.errors, *(describe(f, job) for f in report.failures)]
    if report.duplicates:
        errors.append(f"{report.duplicates} record(s) repeated an article id of this job; "
                      "the first of each was indexed")
    return replace(job, state="done", started=job.started or now(), finished=now(),
                   articles_total=report.articles,
                   articles_done=report.articles, chunks_embedded=report.chunks_embedded,
                   added=report.added, updated=report.updated, unchanged=report.unchanged,
                   errors=tuple(errors))


def describe(failure: ParseError, job: Job) -> str:
    """A failure without the data home's paths: the upload's name, or the pushed record."""
    if job.kind == "follow":
        where = f"fetched article {failure.line}" if failure.line else "fetched articles"
    elif job.kind == "api":
        # line N of the job's JSONL is record N - 1 of the request (jobs.write_records)
        where = f"record {failure.line - 1}" if failure.line else "pushed articles"
    else:
        where = Path(failure.path).name.split("-", 1)[-1]  # `<hash>-<name>` -> name
        where += f" line {failure.line}" if failure.line else ""
    return f"{where}: {failure.reason}"
