"""Two `newsqa follow` processes with different feeds on one home, at the same time (a
cron job beside a service, or two services): each feed's state survives, so the next
poll of either costs one conditional request and fetches no page again. Before, the last
process to save wrote its own view of the state file over the other's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import run_cli, start_cli
from tests.test_web import pages
from tests.webserver import Route, WebServer, rss

LOOPBACK = {"NEWSQA_FETCH__ALLOWED_HOSTS": '["127.0.0.1"]'}


@pytest.fixture
def web() -> Iterator[WebServer]:
    server = WebServer()
    yield server
    server.close()


@pytest.mark.parametrize("run", [1, 2, 3])
def test_two_follow_processes_keep_both_feeds_state(web: WebServer, tmp_path: Path,
                                                    run: int) -> None:
    feeds = {}
    for name in ("alpha", "beta"):
        web.route(f"/{name}.xml", Route(body=rss(name, pages(web, name, 6)),
                                        content_type="application/rss+xml", etag=True))
        feeds[name] = web.url(f"/{name}.xml")
    home = tmp_path / "home"
    procs = [start_cli(home, "follow", "--once", "--quiet", url, delay=0.02, **LOOPBACK)
             for url in feeds.values()]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    state = json.loads((home / "follow" / "feeds.json").read_text())["feeds"]
    assert set(state) == set(feeds.values())
    for url in feeds.values():
        assert len(state[url]["seen"]) == 6 and state[url]["etag"]
    # The next poll of both: conditional, no page fetched again, nothing added.
    before = sum(web.hits[f"/{name}/{i}.html"] for name in feeds for i in range(6))
    code, out, err = run_cli(home, "follow", "--once", *feeds.values(), **LOOPBACK)
    assert code == 0, err
    assert "0 pages fetched" in out and "2 unchanged" in out
    assert sum(web.hits[f"/{name}/{i}.html"] for name in feeds for i in range(6)) == before
