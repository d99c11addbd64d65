"""The ingest worker and its jobs on disk (ui/worker.py, ui/jobs.py)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from assistant.service import Assistant
from tests.conftest import hold_writer_lock, make_settings
from tests.fakes import FakeEmbedder
from ui.jobs import Job, JobStore
from ui.worker import IngestWorker

DEAD_OWNER = "999999999:0"  # a process that no longer exists


def _records(prefix: str, n: int) -> list[dict[str, str]]:
    return [{"id": f"{prefix}-{i}", "title": f"{prefix} story {i}",
             "text": f"The {prefix} council met on day {i} and voted on harbour repairs."}
            for i in range(n)]


def _bot(home: Path) -> Assistant:
    return Assistant(make_settings(home), embedder=FakeEmbedder())


def test_a_pushed_job_reports_progress_and_is_kept_on_disk(tmp_path: Path) -> None:
    bot = _bot(tmp_path / "home")
    seen: list[tuple[str, int]] = []
    worker = IngestWorker(bot)
    real = worker._set

    def spy(job: Job, save: bool) -> None:
        seen.append((job.state, job.articles_done))
        real(job, save)

    worker._set = spy  # type: ignore[method-assign]
    worker.start()
    try:
        job = worker.submit_records(_records("a", 3), rejected=["record 3: no text"])
        assert job.state == "queued" and job.articles_total == 3
        done = worker.wait(job.id, timeout=60)
    finally:
        worker.stop()
    assert done is not None and done.state == "done"
    assert (done.articles_total, done.articles_done, done.added) == (3, 3, 3)
    assert done.chunks_embedded >= 3 and done.errors == ("record 3: no text",)
    assert done.started and done.finished
    assert ("running", 0) in seen and seen[-1] == ("done", 3)
    on_disk = JobStore(bot.settings.home).load(job.id)
    assert on_disk == done  # a restarted server still answers GET /api/jobs/{id}
    assert bot.info()["articles"] == 3
    assert bot.ask("When did the a council vote on harbour repairs?").citations


def test_a_job_left_running_by_a_killed_server_is_resumed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = JobStore(home)
    job_id = store.new_id()
    path = store.write_records(job_id, _records("b", 2))
    left = Job(job_id, "running", "api", "2 article(s)", (str(path),), articles_total=2,
               articles_done=1, started="2026-01-01T00:00:00Z", owner=DEAD_OWNER)
    store.save(left)
    bot = _bot(home)
    worker = IngestWorker(bot)
    taken = worker.start()
    try:
        assert [j.id for j in taken] == [job_id]
        done = worker.wait(job_id, timeout=60)
    finally:
        worker.stop()
    assert done is not None and done.state == "done" and done.resumed == 1
    assert done.articles_done == 2 and bot.info()["articles"] == 2


def test_a_job_whose_input_is_gone_is_marked_failed_with_the_reason(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = JobStore(home)
    job_id = store.new_id()
    store.save(Job(job_id, "queued", "upload", "news.jsonl",
                   (str(home / "uploads" / "abc-news.jsonl"),), owner=DEAD_OWNER))
    worker = IngestWorker(_bot(home))
    worker.start()
    worker.stop()
    failed = store.load(job_id)
    assert failed is not None and failed.state == "failed" and failed.finished
    assert "interrupted by a restart" in failed.errors[-1]
    assert "upload the articles again" in failed.errors[-1]


def test_a_job_of_a_live_process_is_left_to_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = JobStore(home)
    job_id = store.new_id()
    store.save(Job(job_id, "running", "upload", "x.txt", ("/nowhere/x.txt",)))  # ours
    worker = IngestWorker(_bot(home))
    assert worker.start() == []
    worker.stop()
    assert store.load(job_id).state == "running"  # type: ignore[union-attr]


def test_two_pushes_at_once_are_both_indexed_without_duplicates(tmp_path: Path) -> None:
    bot = _bot(tmp_path / "home")
    worker = IngestWorker(bot)
    worker.start()
    # Both carry c-0 ... c-4 (same ids, same text): one article each in the end.
    first, second = _records("c", 5) + _records("d", 5), _records("c", 5) + _records("e", 5)
    jobs: list[Job] = []
    threads = [threading.Thread(target=lambda r=r: jobs.append(worker.submit_records(r)))
               for r in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        finals = [worker.wait(j.id, timeout=120) for j in jobs]
    finally:
        worker.stop()
    assert all(j is not None and j.state == "done" and not j.errors for j in finals)
    assert sorted(j.added for j in finals if j) == [5, 10]
    assert sorted(j.unchanged for j in finals if j) == [0, 5]
    records = bot.store.records()
    assert len(records) == 15 and bot.info()["articles"] == 15
    assert sorted(records) == sorted({r["id"] for r in first + second})


def test_an_ingest_error_fails_the_job_and_the_worker_goes_on(tmp_path: Path) -> None:
    bot = _bot(tmp_path / "home")
    worker = IngestWorker(bot)
    real = bot.ingest
    calls = {"n": 0}

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk on fire at /secret/path")
        return real(*args, **kwargs)

    bot.ingest = flaky  # type: ignore[method-assign]
    worker.start()
    try:
        bad = worker.submit_records(_records("f", 1))
        good = worker.submit_records(_records("g", 1))
        bad_done, good_done = worker.wait(bad.id, 60), worker.wait(good.id, 60)
    finally:
        worker.stop()
    assert bad_done is not None and bad_done.state == "failed"
    assert "server log" in bad_done.errors[-1] and "/secret/path" not in bad_done.errors[-1]
    assert good_done is not None and good_done.state == "done" and good_done.added == 1
    saved = json.loads((bot.settings.home / "jobs" / f"{bad.id}.json").read_text())
    assert saved["state"] == "failed"


def test_a_job_stays_queued_while_another_writer_holds_the_lock(tmp_path: Path) -> None:
    bot = _bot(tmp_path / "home")
    worker = IngestWorker(bot)
    worker.start()
    release = hold_writer_lock(bot.settings.home)
    try:
        job = worker.submit_records(_records("h", 2))
        waiting = worker.wait(job.id, timeout=1.0)
        assert waiting is not None and waiting.state == "queued"
        assert worker.counts() == {"queued": 1, "running": 0}
        release.set()
        done = worker.wait(job.id, timeout=60)
    finally:
        release.set()
        worker.stop()
    assert done is not None and done.state == "done" and done.added == 2


def test_asks_are_answered_while_a_job_is_indexing(tmp_path: Path) -> None:
    """The worker's ingest is stuck inside the embedder; questions still get answers
    from the index as it was."""

    class StuckEmbedder(FakeEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.inside, self.go_on = threading.Event(), threading.Event()
            self.stuck = False

        def embed_documents(self, texts):  # type: ignore[no-untyped-def]
            # only the worker's ingest is stuck (an ask embeds sentences too)
            if self.stuck and threading.current_thread().name == "newsqa-ingest":
                self.inside.set()
                self.go_on.wait(60)
            return super().embed_documents(texts)

    embedder = StuckEmbedder()
    bot = Assistant(make_settings(tmp_path / "home"), embedder=embedder)
    worker = IngestWorker(bot)
    worker.start()
    try:
        first = worker.submit_records(_records("old", 2))
        assert worker.wait(first.id, 60).state == "done"  # type: ignore[union-attr]
        embedder.stuck = True
        job = worker.submit_records(_records("new", 2))
        assert embedder.inside.wait(30)
        assert worker.job(job.id).state == "running"  # type: ignore[union-attr]
        answers: list[object] = []
        asker = threading.Thread(target=lambda: answers.append(
            bot.ask("When did the old council vote on harbour repairs?")))
        asker.start()
        asker.join(30)
        assert answers and answers[0].citations  # type: ignore[attr-defined]
        embedder.go_on.set()
        done = worker.wait(job.id, 60)
    finally:
        embedder.go_on.set()
        worker.stop()
    assert done is not None and done.state == "done" and bot.info()["articles"] == 4


def test_an_article_that_cannot_be_embedded_is_named_and_the_others_are_indexed(
        tmp_path: Path) -> None:
    class Picky(FakeEmbedder):
        def embed_documents(self, texts):  # type: ignore[no-untyped-def]
            if any("BOOM" in t for t in texts):
                raise ValueError("cannot embed this")
            return super().embed_documents(texts)

    bot = Assistant(make_settings(tmp_path / "home"), embedder=Picky())
    worker = IngestWorker(bot)
    worker.start()
    records = [*_records("ok", 2), {"id": "bad", "text": "BOOM goes the article."}, None]
    try:
        job = worker.submit_records(records, rejected=["record 3: field 'text': missing"])
        done = worker.wait(job.id, 60)
    finally:
        worker.stop()
    assert done is not None and done.state == "done" and done.articles_total == 3
    assert done.added == 2 and sorted(bot.store.records()) == ["ok-0", "ok-1"]
    assert done.errors[0] == "record 3: field 'text': missing"
    assert "article bad" in done.errors[1] and "cannot embed" in done.errors[1]
