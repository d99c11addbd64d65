"""Watched questions through a real server on loopback (fake embedder): a followed feed
gains an article that changes a watched question's answer, and exactly one change shows
in /api/watches/{id}/changes, in both Atom feeds (read by feedparser) and `newsqa watch
changes`; an unrelated article changes nothing and asks nothing again. Readers read
watches; only editors add or remove them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest

from assistant.service import Assistant
from tests.conftest import free_port, make_settings
from tests.fakes import FakeEmbedder
from tests.webserver import Route, WebServer, page, rss
from ui.server import launch

WRITE, READ = "write-t0ken-for-watches", "read-t0ken-for-watches"
LOOPBACK = {"allowed_hosts": ["127.0.0.1"], "read_timeout_s": 2.0}
Q = "Who leads the Harbour Authority?"
STORIES = {
    "named": ("Harbour Authority names new chief executive", "2026-10-01",
              ["The Harbour Authority on Monday named Maria Okafor as its chief executive.",
               "Okafor, a former port engineer, takes over at a time of record cargo "
               "volumes."]),
    "changed": ("Harbour Authority changes chief", "2026-10-22",
                ["Maria Okafor resigned as chief executive of the Harbour Authority on "
                 "Friday, citing a dispute with the board over the quay budget.",
                 "The board appointed Tomas Lindqvist, its finance director, to lead the "
                 "authority."]),
    "tram": ("Tram line opens", "2026-10-23",
             ["The new tram line opened in Grenoble on Saturday.",
              "The project cost 180 million euros and took four years to build."]),
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Feed:
    """A loopback news site whose RSS feed gains stories."""

    def __init__(self, web: WebServer) -> None:
        self.web = web
        self.items: list[dict[str, str]] = []
        self.url = web.url("/rss.xml")
        self.web.route("/rss.xml", Route(body=rss("Port news", [])))

    def publish(self, key: str) -> None:
        title, day, paragraphs = STORIES[key]
        path = f"/{key}.html"
        self.web.route(path, Route(body=page(title, paragraphs, date=day)))
        self.items.insert(0, {"title": title, "link": self.web.url(path), "guid": key})
        self.web.route("/rss.xml", Route(body=rss("Port news", self.items)))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Assistant, Any, Feed, httpx.Client]]:
    web = WebServer()
    feed = Feed(web)
    feed.publish("named")
    bot = Assistant(make_settings(tmp_path / "home", fetch=LOOPBACK), embedder=FakeEmbedder())
    port = free_port()
    demo = launch(bot, host="127.0.0.1", port=port, block=False, quiet=True,
                  api_token=WRITE, read_token=READ, feeds=[feed.url], every_s=3600)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=60)
    try:
        for _ in range(100):  # the poller's first poll indexes the first story
            if demo.poller.status.polls:
                break
            time.sleep(0.2)
        assert bot.info()["articles"] == 1
        yield bot, demo, feed, client
    finally:
        client.close()
        demo.close()
        demo.worker.stop()
        web.close()


def test_a_followed_article_that_changes_the_answer_is_one_change_everywhere(
        served: tuple[Assistant, Any, Feed, httpx.Client]) -> None:
    bot, demo, feed, client = served
    made = client.post("/watches", json={"question": Q}, headers=bearer(WRITE))
    assert made.status_code == 201, made.text
    watch = made.json()
    assert watch["answer"]["short"] == "Maria Okafor" and watch["changes"] == 0
    again = client.post("/watches", json={"question": Q}, headers=bearer(WRITE))
    assert again.status_code == 200 and again.json()["id"] == watch["id"]

    feed.publish("changed")
    demo.poller.poll()  # what the timer does: fetch, index through the worker, re-check
    changes = client.get(f"/watches/{watch['id']}/changes", headers=bearer(READ)).json()
    assert len(changes) == 1
    change = changes[0]
    assert change["old"]["short"] == "Maria Okafor"
    assert change["new"]["short"] == "Tomas Lindqvist"
    assert change["reasons"] == ["answer"]
    new_cites = [c for c in change["new"]["citations"] if "changed" in (c["url"] or "")]
    assert new_cites and new_cites[0]["date"] == "2026-10-22"
    assert client.get("/watches/changes", headers=bearer(READ)).json() == changes

    for path in (f"/watches/{watch['id']}/changes.atom", "/watches/changes.atom"):
        got = client.get(path, headers=bearer(READ))
        assert got.status_code == 200 and got.headers["content-type"].startswith(
            "application/atom+xml")
        parsed = feedparser.parse(got.content)
        assert not parsed.bozo, parsed.bozo_exception
        assert len(parsed.entries) == 1
        entry = parsed.entries[0]
        assert "Tomas Lindqvist" in entry.title and Q in entry.title
        assert "2026-10-22" in entry.content[0].value
        assert entry.link.endswith("/changed.html")

    # An unrelated story: indexed, no watch asked again, no change.
    asked = bot.watcher.asks
    feed.publish("tram")
    demo.poller.poll()
    assert bot.info()["articles"] == 3
    assert bot.watcher.asks == asked
    listed = client.get("/watches", headers=bearer(READ)).json()
    assert [(w["id"], w["changes"]) for w in listed] == [(watch["id"], 1)]
    assert listed[0]["answer"]["short"] == "Tomas Lindqvist"


def test_readers_read_watches_and_editors_change_them(
        served: tuple[Assistant, Any, Feed, httpx.Client]) -> None:
    _, _, _, client = served
    refused = client.post("/watches", json={"question": Q}, headers=bearer(READ))
    assert refused.status_code == 403 and "write token" in refused.json()["error"]
    assert client.get("/watches").status_code == 401  # no credential
    made = client.post("/watches", json={"question": Q}, headers=bearer(WRITE)).json()
    assert client.get(f"/watches/{made['id']}", headers=bearer(READ)).json()["id"] == made["id"]
    assert client.delete(f"/watches/{made['id']}", headers=bearer(READ)).status_code == 403
    gone = client.delete(f"/watches/{made['id']}", headers=bearer(WRITE))
    assert gone.status_code == 200 and gone.json() == {"removed": made["id"]}
    missing = client.get(f"/watches/{made['id']}", headers=bearer(READ))
    assert missing.status_code == 404 and "newsqa watch list" in missing.json()["error"]
    assert client.get(f"/watches/{made['id']}/changes.atom",
                      headers=bearer(READ)).status_code == 404


@pytest.mark.parametrize(("body", "status", "says"), [
    ({"question": "   "}, 422, "empty"),
    ({"question": Q, "sources": ["Nowhere Times"]}, 422, "no articles from source"),
    ({"question": Q, "since": "yesterday"}, 422, "since"),
    ({"question": Q, "colour": "red"}, 422, "colour"),
    ({"question": "x" * 3000}, 422, "NEWSQA_SERVE__MAX_QUESTION_CHARS"),
])
def test_bad_watch_requests_say_what_to_fix(
        served: tuple[Assistant, Any, Feed, httpx.Client], body: dict[str, Any], status: int,
        says: str) -> None:
    _, _, _, client = served
    got = client.post("/watches", json=body, headers=bearer(WRITE))
    assert got.status_code == status and says in got.json()["error"], got.text
    assert client.get("/watches", headers=bearer(READ)).json() == []  # nothing added
