"""kill -9 in the middle of `newsqa prune`: every kept article is still there and found,
the old ones are gone or go at the next prune, and `newsqa check` passes after at most
`newsqa check --repair`."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from tests.faults.harness import (
    assert_intact,
    bot,
    run_cli,
    start_cli,
    write_corpus,
)


def dated(path: Path, prefix: str, n: int, day: str) -> list[dict[str, str]]:
    """`write_corpus`, every article published on `day`."""
    recs = [{**r, "date": day} for r in write_corpus(path, prefix, n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return recs


def test_kill_9_mid_prune_loses_no_kept_article(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = dated(tmp_path / "old.jsonl", "old", 60, "2019-03-01")
    kept = write_corpus(tmp_path / "undated.jsonl", "undated", 20)
    kept += dated(tmp_path / "new.jsonl", "new", 20, "2099-01-01")  # never old
    code, _, err = run_cli(home, "ingest", "--quiet", *(str(tmp_path / f"{n}.jsonl")
                                                       for n in ("old", "undated", "new")))
    assert code == 0, err
    # 5 articles per deletion, 1 s before each: killed after 2 or 3 of the 12 deletions
    proc = start_cli(home, "prune", "--older-than", "180d", NQ_DELETE_DELAY="1",
                     NQ_PRUNE_BATCH="5")
    total = len(old) + len(kept)
    left, deadline = total, time.time() + 60
    while left > total - 10 and time.time() < deadline:
        time.sleep(0.3)
        left = bot(home).info()["articles"]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert total - 10 >= left > len(kept), f"{left} articles left: not killed mid-prune"

    after = bot(home)
    after.open()
    records = set(after.store.records())
    assert {r["id"] for r in kept} <= records  # nothing kept was touched
    assert records - {r["id"] for r in kept} < {r["id"] for r in old}  # some old ones gone
    code, out, _ = run_cli(home, "check")
    if code != 0:  # the keyword index (or a half-done deletion) is behind: repair mends it
        code, out, _ = run_cli(home, "check", "--repair")
        assert code == 0, out
        assert run_cli(home, "check")[0] == 0
    code, out, err = run_cli(home, "prune", "--older-than", "180d")  # the rest go now
    assert code == 0 and out.startswith("pruned "), err
    assert_intact(home, kept)
