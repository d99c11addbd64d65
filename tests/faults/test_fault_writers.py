"""Several writers on one data home, and writers killed midway (separate processes)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from index.lock import WriterLock
from tests.faults.harness import (
    assert_intact,
    bot,
    run_cli,
    start_cli,
    wait_for_articles,
    write_corpus,
)


def test_two_concurrent_ingests_lose_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    base = write_corpus(tmp_path / "base.jsonl", "base", 40)
    assert run_cli(home, "ingest", "--quiet", str(tmp_path / "base.jsonl"))[0] == 0
    a = write_corpus(tmp_path / "a.jsonl", "alpha", 25)
    b = write_corpus(tmp_path / "b.jsonl", "beta", 25)
    # Slow enough (2 s per write of 8 chunks) that the first is still writing when the
    # second has started up and asks for the lock.
    first = start_cli(home, "ingest", "--quiet", str(tmp_path / "a.jsonl"), delay=2.0)
    wait_for_articles(home, 41)  # the first writer is under way
    second = start_cli(home, "ingest", "--quiet", str(tmp_path / "b.jsonl"), delay=0.5)
    out1, err1 = first.communicate(timeout=300)
    out2, err2 = second.communicate(timeout=300)
    assert (first.returncode, second.returncode) == (0, 0), (err1, err2)
    assert f"another ingest is running (pid {first.pid}" in err2 and "waiting" in err2
    assert "25 added" in out1 and "25 added" in out2
    assert_intact(home, base + a + b)
    # and a re-run finds nothing to do
    code, out, _ = run_cli(home, "ingest", "--quiet", str(tmp_path / "a.jsonl"),
                           str(tmp_path / "b.jsonl"))
    assert code == 0 and "50 unchanged" in out and "nothing new to embed" in out


def test_no_wait_exits_2_naming_the_writer(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_corpus(tmp_path / "a.jsonl", "alpha", 3)
    with WriterLock(home).hold("ingest"):
        code, out, err = run_cli(home, "ingest", "--no-wait", "--quiet",
                                 str(tmp_path / "a.jsonl"))
        assert code == 2
        assert f"another ingest is running (pid {os.getpid()}" in err
        assert err.count("\n") == 1 and "Traceback" not in err
        code, _, err = run_cli(home, "remove", "--no-wait", "alpha-0")
        assert code == 2 and "another ingest is running" in err
    code, out, _ = run_cli(home, "ingest", "--no-wait", "--quiet", str(tmp_path / "a.jsonl"))
    assert code == 0 and "3 added" in out


def test_ingest_from_a_terminal_while_the_chat_indexes_an_upload(tmp_path: Path) -> None:
    """The chat (this process) indexes an upload while `newsqa ingest` (another process)
    runs: one waits for the other, and both sets of articles are there afterwards."""
    from tests.faults.harness import FakeEmbedder
    from ui import chat

    home = tmp_path / "home"
    cli_recs = write_corpus(tmp_path / "cli.jsonl", "terminal", 20)
    upload_dir = tmp_path / "home" / "tmp" / "x1"
    upload_dir.mkdir(parents=True)
    up_recs = write_corpus(upload_dir / "news.jsonl", "upload", 20)

    class Slow(FakeEmbedder):
        def embed_documents(self, texts):  # type: ignore[no-untyped-def]
            time.sleep(0.3)
            return super().embed_documents(texts)

    from assistant.service import Assistant
    from tests.conftest import make_settings

    server_bot = Assistant(make_settings(home, embedding={"batch_size": 1},
                                                ingest={"store_batch": 8}), embedder=Slow())
    upload = _handler(chat.build_app(server_bot), "upload")
    terminal = start_cli(home, "ingest", "--quiet", str(tmp_path / "cli.jsonl"), delay=0.5)
    wait_for_articles(home, 1)
    steps = list(upload([str(upload_dir / "news.jsonl")]))
    out, err = terminal.communicate(timeout=300)
    assert terminal.returncode == 0, err
    assert "Waiting: another ingest is running" in "".join(s[0] for s in steps if
                                                           isinstance(s[0], str))
    assert "20 added" in steps[-1][0]
    assert_intact(home, cli_recs + up_recs)


def _handler(demo, name: str):  # type: ignore[no-untyped-def]
    return next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == name)


def test_kill_9_mid_ingest_frees_the_lock_and_the_rerun_completes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    recs = write_corpus(tmp_path / "c.jsonl", "killed", 40)
    proc = start_cli(home, "ingest", "--quiet", str(tmp_path / "c.jsonl"), delay=0.5)
    partial = wait_for_articles(home, 4)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert 0 < partial < 40
    b = bot(home)
    assert b.lock.holder() is None  # the kernel released the dead writer's lock
    assert b.ask(recs[0]["title"]).retrieved  # the index opens and answers
    code, out, err = run_cli(home, "ingest", "--no-wait", "--quiet", str(tmp_path / "c.jsonl"))
    assert code == 0, err
    assert_intact(home, recs)


def test_kill_9_during_rebuild_keeps_the_old_index(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = write_corpus(tmp_path / "old.jsonl", "old", 20)
    assert run_cli(home, "ingest", "--quiet", str(tmp_path / "old.jsonl"))[0] == 0
    new = write_corpus(tmp_path / "new.jsonl", "new", 30)
    proc = start_cli(home, "ingest", "--rebuild", "--quiet", str(tmp_path / "new.jsonl"),
                     delay=1.0)
    asked: list[bool] = []

    def ask_meanwhile() -> None:  # readers keep answering from the old index
        while proc.poll() is None and len(asked) < 20:
            asked.append(bool(bot(home).retriever.retrieve(old[3]["title"], 10)))
            time.sleep(0.2)

    reader = threading.Thread(target=ask_meanwhile)
    reader.start()
    time.sleep(2.5)  # well into the rebuild
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    reader.join(timeout=30)
    assert asked and all(asked)
    assert_intact(home, old)  # as before the rebuild: nothing lost, nothing half-new
    code, out, err = run_cli(home, "ingest", "--rebuild", "--quiet", str(tmp_path / "new.jsonl"))
    assert code == 0, err
    assert_intact(home, new)
    b = bot(home)
    b.open()
    # the killed run's half-built collections were cleaned up, and so is the old keyword index
    assert len(list((home / "keyword").iterdir())) == 1


def test_rebuild_with_bad_settings_touches_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = write_corpus(tmp_path / "old.jsonl", "old", 5)
    assert run_cli(home, "ingest", "--quiet", str(tmp_path / "old.jsonl"))[0] == 0
    code, _, err = run_cli(home, "ingest", "--rebuild", "--quiet", str(tmp_path / "old.jsonl"),
                           NEWSQA_CHUNKING__CHUNK_OVERLAP="500",
                           NEWSQA_CHUNKING__CHUNK_SIZE="100")
    assert code == 2 and "NEWSQA_CHUNKING" in err and "chunk_overlap" in err
    assert_intact(home, old)


def test_a_running_reader_sees_a_terminal_ingest_without_restart(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A long-running process (the chat) asks; `newsqa ingest` adds articles in another
    process; asks find them within seconds, by keywords and by vectors."""
    import assistant.writing
    from assistant.service import Assistant
    from tests.conftest import make_settings
    from tests.fakes import FakeEmbedder

    monkeypatch.setattr(assistant.writing, "FOLLOW_SECONDS", 0.0)
    home = tmp_path / "home"
    first = write_corpus(tmp_path / "a.jsonl", "alpha", 3)
    assert run_cli(home, "ingest", "--quiet", str(tmp_path / "a.jsonl"))[0] == 0
    readers = {mode: Assistant(make_settings(home, retrieval={"mode": mode}),
                               embedder=FakeEmbedder()) for mode in ("dense", "hybrid")}
    for reader in readers.values():
        assert reader.ask(first[0]["title"]).retrieved[0].article_id == first[0]["id"]
    later = write_corpus(tmp_path / "b.jsonl", "beta", 3)
    assert run_cli(home, "ingest", "--quiet", str(tmp_path / "b.jsonl"))[0] == 0
    for mode, reader in readers.items():
        # The ask that notices the change is not kept waiting: the reader catches up in
        # the background, and a later ask finds the new articles.
        deadline = time.monotonic() + 15
        while True:
            found = [p.article_id for p in reader.ask(later[1]["title"], k=3).retrieved]
            if found[0] == later[1]["id"]:
                break
            assert time.monotonic() < deadline, (mode, found)
            time.sleep(0.1)
