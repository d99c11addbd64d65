"""Opening a cited article: `newsqa show`, `GET /api/articles/{id}` and the chat's
article page all give the stored text that citation offsets point into; a server started
with `--follow` polls feeds through its ingest worker."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.service import Assistant
from tests.conftest import SEED_FILE, free_port, make_settings, run_cli
from tests.fakes import FakeEmbedder
from tests.webserver import Route, WebServer, page, rss
from ui import cli
from ui.server import launch

TOKEN = "t0ken-for-show"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setattr(cli, "_open", lambda args: Assistant(make_settings(home),
                                                              embedder=FakeEmbedder()))
    return home


def test_show_prints_the_text_every_citation_points_into(home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run_cli(capsys, "ingest", "--quiet", str(SEED_FILE))[0] == 0
    code, out, _ = run_cli(capsys, "ask", "--json", "Where are remaining IS cells?")
    answer = json.loads(out)
    assert answer["citations"]
    for c in answer["citations"]:
        code, out, _ = run_cli(capsys, "show", "--json", c["article_id"])
        article = json.loads(out)
        assert code == 0 and set(article) == {"id", "title", "date", "url", "source", "text"}
        assert article["text"][c["start"]:c["end"]] == c["quote"]
        code, out, _ = run_cli(capsys, "show", c["article_id"], "--around",
                           f"{c['start']}:{c['end']}")
        assert code == 0 and f"»{c['quote']}«" in out and f"chars {c['start']}-{c['end']}" in out


def test_show_names_unknown_ids_and_bad_spans(home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    run_cli(capsys, "ingest", "--quiet", str(SEED_FILE))
    code, _, err = run_cli(capsys, "show", "no-such-id")
    assert code == 2 and "no article 'no-such-id' in the index" in err
    aid = json.loads(run_cli(capsys, "ask", "--json", "IS cells")[1])["citations"][0]["article_id"]
    code, _, err = run_cli(capsys, "show", aid, "--around", "10-20")
    assert code == 2 and "is not a span like 2774:2940" in err
    code, _, err = run_cli(capsys, "show", aid, "--around", "5:99999999")
    assert code == 2 and "outside article" in err


# -- the server ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def feeds() -> Iterator[WebServer]:
    web = WebServer()
    items = []
    for i, topic in enumerate(["harbour", "bridge", "library", "stadium"]):
        path = f"/story/{i}.html"
        web.route(path, Route(body=page(f"The {topic} reopens", [
            f"The {topic} of Springfield reopened on Monday after repairs that cost {i + 2} "
            "million dollars, the mayor said.",
            f"Hundreds of people visited the {topic} on its first day."])))
        items.append({"title": f"The {topic} reopens <b>now</b>", "link": web.url(path),
                      "guid": str(i), "pubDate": f"Mon, 0{i + 1} Apr 2024 09:00:00 GMT"})
    items.append({"title": "Gone", "link": web.url("/gone.html"), "guid": "gone"})
    web.route("/feed.xml", Route(body=rss("Springfield Times", items), etag=True,
                                 content_type="application/rss+xml"))
    yield web
    web.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, feeds: WebServer
           ) -> Iterator[tuple[Assistant, Any, str]]:
    home = tmp_path_factory.mktemp("follow-server") / "home"
    bot = Assistant(make_settings(home, serve={"api_token": TOKEN},
                                  fetch={"allowed_hosts": ["127.0.0.1"]}),
                    embedder=FakeEmbedder())
    port = free_port()
    demo = launch(bot, host="127.0.0.1", port=port, block=False, quiet=True,
                  feeds=[feeds.url("/feed.xml")], every_s=1.0)
    yield bot, demo, f"http://127.0.0.1:{port}"
    demo.poller.stop()
    demo.close()
    demo.worker.stop()


@pytest.fixture(scope="module")
def api(server: tuple[Assistant, Any, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[2], headers={"Authorization": f"Bearer {TOKEN}"},
                      timeout=60) as client:
        deadline = time.time() + 60
        while time.time() < deadline:
            health = client.get("/api/health").json()
            if health["articles"] == 4 and health["follow"]["polls"] >= 2:
                break
            time.sleep(0.3)
        yield client


def test_the_server_polls_its_feeds_through_the_worker(api: httpx.Client,
                                                       feeds: WebServer) -> None:
    health = api.get("/api/health").json()
    assert health["articles"] == 4
    follow = health["follow"]
    assert follow["feeds"] == [feeds.url("/feed.xml")] and follow["polls"] >= 2
    jobs = api.get("/api/jobs").json()
    polls = [j for j in jobs if j["kind"] == "follow"]
    assert polls and polls[-1]["added"] == 4 and polls[-1]["state"] == "done"
    assert any("gone.html: HTTP 404" in e for e in polls[-1]["errors"])
    assert len(polls) == 1  # later polls: 304, nothing new, no job
    assert feeds.hits["/story/0.html"] == 1 and feeds.conditional["/feed.xml"] >= 1


def test_api_article_gives_the_text_citations_point_into(api: httpx.Client) -> None:
    answer = api.post("/api/ask", json={"question": "How much did the harbour repairs cost?",
                                        "sources": ["springfield times"]}).json()
    assert answer["citations"]
    for c in answer["citations"]:
        article = api.get(f"/api/articles/{c['article_id']}").json()
        assert article["text"][c["start"]:c["end"]] == c["quote"]
        assert article["source"] == "Springfield Times" and "<b>" not in article["title"]
    missing = api.get("/api/articles/nope")
    assert missing.status_code == 404 and "no article 'nope'" in missing.json()["error"]
    assert httpx.get(api.base_url.join("/api/articles/nope")).status_code == 401
    sources = api.get("/api/sources").json()
    assert sources == [{"name": "Springfield Times", "articles": 4, "first": "2024-04-01",
                        "last": "2024-04-04"}]
    bad = api.post("/api/ask", json={"question": "harbour?", "sources": ["Fox"]})
    assert bad.status_code == 422 and "no articles from source 'Fox'" in bad.json()["error"]
    bad = api.post("/api/ask", json={"question": "harbour?", "since": "yesterday"})
    assert bad.status_code == 422 and "since" in bad.json()["error"]
    bad = api.post("/api/ask", json={"question": "harbour?", "since": "2024-05-01",
                                     "until": "2024-01-01"})
    assert bad.status_code == 422 and "is after the end date" in bad.json()["error"]


def test_the_article_page_highlights_the_quote_and_needs_the_login(
        api: httpx.Client, server: tuple[Assistant, Any, str]) -> None:
    c = api.post("/api/ask", json={"question": "How much did the bridge cost?"}
                 ).json()["citations"][0]
    path = f"/article/{c['article_id']}?span={c['start']}:{c['end']}"
    page_ = api.get(path)
    assert page_.status_code == 200 and "default-src 'none'" in \
        page_.headers["content-security-policy"]
    assert '<mark id="quote">' in page_.text
    marked = page_.text.split('<mark id="quote">')[1].split("</mark>")[0]
    assert marked == c["quote"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")\
        .replace('"', "&quot;").replace("'", "&#x27;")
    assert httpx.get(server[2] + path).status_code == 401  # no login, no token
    assert api.get(f"/article/{c['article_id']}?span=5:1").status_code == 400
    assert api.get("/article/nope").status_code == 404


def test_the_article_page_says_when_the_index_cannot_be_read(fake_bot: Assistant) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route as StarletteRoute
    from starlette.testclient import TestClient

    from index.errors import StoreUnavailable
    from ui.auth import Access
    from ui.server import article_endpoint

    def broken(article_id: str) -> None:
        raise StoreUnavailable("the Chroma server at http://127.0.0.1:9 cannot be reached")

    fake_bot.article = broken  # type: ignore[method-assign,assignment]
    app = Starlette(routes=[StarletteRoute("/article/{article_id:path}",
                                           article_endpoint(fake_bot, Access()))])
    got = TestClient(app).get("/article/a1")
    assert got.status_code == 503 and "cannot be reached" in got.text
