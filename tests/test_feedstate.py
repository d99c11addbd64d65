"""Feed state shared by several processes following different feeds on one home: each
save keeps the other processes' feeds (before, the last writer's file won and the other
feeds were fetched again from scratch on their next poll)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from index.web.feedstate import FeedState

ROOT = Path(__file__).resolve().parents[1]


def test_two_states_saved_in_turn_keep_both_feeds(tmp_path: Path) -> None:
    a, b = FeedState(tmp_path), FeedState(tmp_path)  # both loaded before either saves
    a.record("https://a.example/rss").seen["a1"] = "id-a1"
    b.record("https://b.example/rss").seen["b1"] = "id-b1"
    a.save()
    b.save()
    kept = FeedState(tmp_path).feeds
    assert kept["https://a.example/rss"].seen == {"a1": "id-a1"}
    assert kept["https://b.example/rss"].seen == {"b1": "id-b1"}


def test_a_feed_not_polled_is_not_written_back_stale(tmp_path: Path) -> None:
    old = FeedState(tmp_path)
    old.record("https://a.example/rss").etag = '"v1"'
    old.save()
    stale = FeedState(tmp_path)  # read v1, then polls only feed b
    fresh = FeedState(tmp_path)
    fresh.record("https://a.example/rss").etag = '"v2"'
    fresh.save()
    stale.record("https://b.example/rss").etag = '"b"'
    stale.save()
    assert FeedState(tmp_path).feeds["https://a.example/rss"].etag == '"v2"'


def test_concurrent_processes_following_different_feeds_keep_every_feed(
        tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from index.web.feedstate import FeedState
        home, name = Path(sys.argv[1]), sys.argv[2]
        for i in range(40):
            state = FeedState(home)  # as each poll of `newsqa follow` does
            state.record(f"https://{name}.example/rss").seen[f"{name}-{i}"] = f"id-{i}"
            state.save()
    """)
    for run in range(3):
        home = tmp_path / f"run{run}"
        procs = [subprocess.Popen([sys.executable, "-c", script, str(home), name], cwd=ROOT)
                 for name in ("a", "b", "c")]
        assert all(p.wait(timeout=60) == 0 for p in procs)
        feeds = FeedState(home).feeds
        for name in ("a", "b", "c"):
            assert len(feeds[f"https://{name}.example/rss"].seen) == 40, (run, name)
