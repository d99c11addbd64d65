"""kill -9 in the middle of re-checking the watched questions after an ingest: no watch
is lost, none is left behind (the next start re-checks what was due), and no change is
recorded twice."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from assistant.watch.store import WatchStore
from tests.faults.harness import bot, run_cli, start_cli
from tests.test_watch import CHANGE, FIRST, write

QUESTIONS = ["Who leads the Harbour Authority?",
             "Who is the chief executive of the Harbour Authority?",
             "Who heads the Harbour Authority?",
             "Who runs the Harbour Authority now?"]


def test_kill_9_mid_recheck_loses_no_watch(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, _, err = run_cli(home, "ingest", "--quiet", str(write(tmp_path / "a.jsonl", FIRST)))
    assert code == 0, err
    first = bot(home)
    ids = [first.watcher.add(q)[0].id for q in QUESTIONS]
    store = WatchStore(home)
    # 1.5 s per question asked: killed once one or two of the four are re-checked
    proc = start_cli(home, "ingest", "--quiet", str(write(tmp_path / "b.jsonl", CHANGE)),
                     NQ_ASK_DELAY="1.5")
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.2)
        due = len(store.due())
        if 0 < due < len(QUESTIONS):
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    left = store.due()
    assert 0 < len(left) < len(QUESTIONS), "not killed mid re-check"
    assert [w.id for w in store.all()] == ids  # every watch is still there

    after = bot(home)  # the next start (the server's worker does this first)
    result = after.recheck_watches()
    assert result is not None and result.asked == len(left)
    assert store.due() == []
    for watch in store.all():
        # every watch was asked after the write: its answer has seen the new article
        assert watch.answer is not None
        assert any(c.article_id == "harbour-2" for c in watch.answer.citations), watch
        assert watch.changes <= 1  # none recorded twice
