"""Following feeds: `newsqa follow FEED... [--every 15m] [--once]` polls in the terminal;
`newsqa serve --follow FEED...` polls in a background thread of the server.

A poll reads the feeds with conditional requests and fetches only unseen items
(`index.web`). In the server the fetching happens in the poller's own thread and the
indexing is an ingest job of the ingest worker (so it holds the writer lock, shows in
`/api/jobs`, and asks never wait for it); the feed state is saved when the job is done, so
a server stopped mid-poll fetches those items again and re-indexes them under the same ids.
With NEWSQA_INGEST__KEEP_DAYS set, each poll then prunes what is older
(`Assistant.prune`; in the server, a `prune` job of the same worker).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.pruning import PruneReport
    from assistant.service import Assistant
    from ui.worker import IngestWorker

log = logging.getLogger(__name__)
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 60}


def parse_interval(value: str) -> float:
    """Seconds of '90s', '15m', '2h', '1d' or a bare number of minutes; ValueError
    saying what is expected otherwise (at least 5 seconds)."""
    m = _INTERVAL.match(value)
    if m is None:
        raise ValueError(f"{value!r} is not an interval like 30s, 15m or 2h")
    seconds = float(m.group(1)) * _UNIT[m.group(2).lower()]
    if seconds < 5:
        raise ValueError(f"{value!r} is under the shortest interval of 5s")
    return seconds


def feed_list(given: Sequence[str], configured: Sequence[str]) -> list[str]:
    """The feeds to follow: those given, then those in settings, each once."""
    return list(dict.fromkeys([*(g.strip() for g in given), *configured]))


def follow_in_terminal(bot: Assistant, feeds: Sequence[str], every_s: float, once: bool,
                       progress: bool) -> int:
    """Poll `feeds` until interrupted (or once); one line per poll. Exit code: 0, or 1
    when the (last) poll had failures."""
    from index.errors import NewsIndexError

    code = 0
    n = 0
    keep_days = bot.settings.ingest.keep_days
    while True:
        n += 1
        try:
            report, fetched = bot.ingest_urls(feeds, progress=progress)
            pruned = retention(bot, keep_days) if keep_days else None
            gone = len(pruned.removed) if pruned is not None else 0
        except NewsIndexError as exc:  # e.g. the writer lock held too long: try next time
            if once:
                raise
            print(f"newsqa: poll {n} failed: {exc}", file=sys.stderr, flush=True)
            time.sleep(every_s)
            continue
        for failure in report.failures:
            print(f"newsqa: skipped: {failure}", file=sys.stderr)
        print(f"poll {n}: {fetched.report.summary(fetched.requests)}; {report.added} added, "
              f"{report.updated} updated, {report.unchanged} unchanged"
              + (f"; {gone} pruned (older than {keep_days:g} days)" if keep_days else "")
              + (f"; {bot.last_recheck.summary()}" if bot.last_recheck else "")
              + (f"; {len(report.failures)} problem(s)" if report.failures else ""),
              flush=True)
        code = 0 if report.ok else 1
        if once:
            return code
        time.sleep(every_s)


def retention(bot: Assistant, keep_days: float, dry_run: bool = False) -> PruneReport | None:
    """`bot.prune(keep_days)`; None while nothing is indexed (a feed that brought nothing
    yet is no error)."""
    from index.errors import IndexNotFound

    try:
        return bot.prune(keep_days, dry_run=dry_run)
    except IndexNotFound:
        return None


@dataclass
class PollStatus:
    """What /api/health says of following."""

    feeds: list[str]
    every_s: float
    polls: int = 0
    last_poll: str | None = None
    last_job: str | None = None
    last_problems: int = 0
    next_poll: str | None = None
    last_pruned: int = 0  # articles the last poll's retention removed (KEEP_DAYS)

    def to_json(self) -> dict[str, Any]:
        return {"feeds": self.feeds, "every_s": self.every_s, "polls": self.polls,
                "last_poll": self.last_poll, "last_job": self.last_job,
                "last_problems": self.last_problems, "next_poll": self.next_poll,
                "last_pruned": self.last_pruned}


class FeedPoller:
    """Polls feeds every `every_s` in a daemon thread; each poll's articles are indexed
    by an ingest job of `worker`."""

    def __init__(self, bot: Assistant, worker: IngestWorker, feeds: Sequence[str],
                 every_s: float) -> None:
        self.bot = bot
        self.worker = worker
        self.status = PollStatus(feeds=list(feeds), every_s=every_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="newsqa-follow-feeds",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def poll(self) -> str | None:
        """One poll now: the id of the ingest job it queued (None when nothing was new)."""
        from index.web import read_urls

        s = self.bot.settings
        fetched = read_urls(self.status.feeds, s.home, s.fetch, s.ingest)
        problems = [str(f) for f in fetched.report.failures]
        job_id = None
        if fetched.path is not None:
            job = self.worker.submit_files(
                [fetched.path], f"{len(fetched.report.articles)} article(s) from "
                f"{len(self.status.feeds)} feed(s)", kind="follow", errors=problems)
            job_id = job.id
            done = self.worker.wait(job.id)
            if done is None or done.state != "done":
                return job_id  # state not saved: the next poll fetches these again
        fetched.state.save()
        for problem in problems:
            log.warning("follow: %s", problem)
        st = self.status
        st.last_pruned = self.prune()
        st.polls += 1
        st.last_poll = _now()
        st.last_job = job_id or st.last_job
        st.last_problems = len(problems)
        return job_id

    def prune(self) -> int:
        """Retention after a poll (NEWSQA_INGEST__KEEP_DAYS): a job of kind `prune` when
        something is due (a read-only look first, so a quiet feed adds no job file per
        poll); how many articles it removed."""
        days = self.bot.settings.ingest.keep_days
        if days is None:
            return 0
        due = retention(self.bot, days, dry_run=True)
        if due is None or not (due.removed or due.stamped):
            return 0
        job = self.worker.submit_prune()
        done = self.worker.wait(job.id)
        return done.removed if done is not None and done.state == "done" else 0

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:  # one bad poll never ends following
                log.exception("follow: the poll failed; trying again in %.0f s",
                              self.status.every_s)
            self.status.next_poll = datetime.fromtimestamp(
                time.time() + self.status.every_s, UTC).isoformat(timespec="seconds")
            self._stop.wait(self.status.every_s)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
