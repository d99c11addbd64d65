"""Articles from the web (`newsqa ingest URL`, `newsqa follow`): real HTTP against a
loopback test server (tests/webserver.py). Every bad case gets its own message naming the
URL, and every good item is indexed exactly once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.service import Assistant
from index.errors import AddressRefused
from index.settings import FetchSettings
from index.web.address import AddressPolicy, is_public
from index.web.feedstate import FeedState
from index.web.fetch import Fetcher
from index.web.reader import WebReader, canonical, url_id
from tests.conftest import make_settings, run_cli
from tests.fakes import FakeEmbedder
from tests.webserver import Route, WebServer, atom, page, rss
from ui import cli

LOOPBACK = {"allowed_hosts": ["127.0.0.1"], "read_timeout_s": 1.0, "max_response_mb": 2.0}
TOPICS = ["harbour", "bridge", "library", "stadium", "railway", "museum", "airport", "school",
          "hospital", "market", "theatre", "park"]


def story(i: int) -> list[str]:
    topic = TOPICS[i % len(TOPICS)]
    return [f"The {topic} number {i} of Springfield reopened on Monday after a long "
            f"renovation that cost {i + 3} million dollars, officials said.",
            f"Visitors to the {topic} praised the new design, and the council said the "
            f"work on {topic} {i} finished two weeks ahead of schedule."]


@pytest.fixture
def web() -> Iterator[WebServer]:
    server = WebServer()
    yield server
    server.close()


def pages(web: WebServer, prefix: str, n: int, start: int = 0) -> list[dict[str, str]]:
    """n article pages served by `web`, as RSS items (newest first)."""
    items = []
    for i in range(start, start + n):
        path = f"/{prefix}/{i}.html"
        web.route(path, Route(body=page(f"{prefix} story {i}", story(i))))
        items.append({"title": f"{prefix.title()} story {i}", "link": web.url(path),
                      "guid": f"{prefix}-{i}",
                      "pubDate": f"Mon, {1 + i % 28:02d} Apr 2024 09:00:00 GMT"})
    return items[::-1]


def bot_for(home: Path, **fetch: object) -> Assistant:
    return Assistant(make_settings(home, fetch={**LOOPBACK, **fetch}), embedder=FakeEmbedder())


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"

    def fake_open(args):  # type: ignore[no-untyped-def]
        return bot_for(args.home or home)

    monkeypatch.setattr(cli, "_open", fake_open)
    return home


# -- feeds and pages ------------------------------------------------------------------------

def test_rss_atom_and_json_feed_items_are_indexed_once_with_their_metadata(
        web: WebServer, tmp_path: Path) -> None:
    items = pages(web, "rss", 3)
    web.route("/rss.xml", Route(body=rss("Springfield Times", items),
                                content_type="application/rss+xml"))
    web.route("/atom.xml", Route(body=atom("Shelbyville Post", [
        {"title": "Atom story 10", "id": "urn:a:10", "link": "/atom/10.html",
         "updated": "2024-05-02T08:00:00Z"}]), content_type="application/atom+xml"))
    web.route("/atom/10.html", Route(body=page("atom 10", story(10))))
    web.route("/feed.json", Route(body=json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "Capital City Daily",
        "items": [{"id": "j11", "url": web.url("/json/11.html"), "title": "JSON story 11",
                   "date_published": "2024-06-03T10:00:00+02:00"}]}).encode(),
        content_type="application/feed+json"))
    web.route("/json/11.html", Route(body=page("json 11", story(11))))
    bot = bot_for(tmp_path / "home")
    report, fetched = bot.ingest_urls([web.url("/rss.xml"), web.url("/atom.xml"),
                                       web.url("/feed.json")])
    assert report.ok and report.added == 5
    by_url = {a.url: a for a in fetched.report.articles}
    atom_article = by_url[web.url("/atom/10.html")]  # a relative link, resolved
    assert (atom_article.title, str(atom_article.date), atom_article.source) == \
        ("Atom story 10", "2024-05-02", "Shelbyville Post")
    json_article = by_url[web.url("/json/11.html")]
    assert (json_article.title, str(json_article.date), json_article.source) == \
        ("JSON story 11", "2024-06-03", "Capital City Daily")
    assert {a.source for a in fetched.report.articles} >= {"Springfield Times"}
    # the id is the canonical URL's, so the page given directly updates, never duplicates
    again, _ = bot.ingest_urls([web.url("/rss/1.html")])
    assert again.added == 0 and bot.store.counts()[0] == 5
    assert bot.article(url_id(web.url("/rss/1.html"))) is not None


def test_pages_with_and_without_a_date(web: WebServer, tmp_path: Path) -> None:
    web.route("/dated", Route(body=page("Harbour reopens", story(0), date="2024-03-05")))
    web.route("/undated", Route(body=page("Bridge reopens", story(1))))
    bot = bot_for(tmp_path / "home")
    report, fetched = bot.ingest_urls([web.url("/dated"), web.url("/undated?utm_source=x")])
    assert report.ok and report.added == 2
    dates = {a.url: a.date for a in fetched.report.articles}
    assert str(dates[web.url("/dated")]) == "2024-03-05"
    assert dates[web.url("/undated")] is None  # tracking parameters are not part of the id


def test_canonical_links_to_another_site_are_not_believed(web: WebServer) -> None:
    web.route("/p", Route(body=page("Harbour reopens", story(0),
                                    canonical="https://victim.example/their-story")))
    state = FeedState(Path("/nonexistent-home"))
    with Fetcher(FetchSettings(**LOOPBACK)) as f:  # type: ignore[arg-type]
        report = WebReader(f, state, FetchSettings(**LOOPBACK)).read(  # type: ignore[arg-type]
            [web.url("/p#section")])
    assert [a.url for a in report.articles] == [web.url("/p")]
    assert canonical("HTTP://Example.COM:80/a?b=1&utm_medium=x#f") == "http://example.com/a?b=1"


def test_an_unchanged_feed_costs_one_conditional_request_and_no_pages(
        web: WebServer, tmp_path: Path) -> None:
    items = pages(web, "n", 4)
    web.route("/feed.xml", Route(body=lambda: rss("News", items), etag=True,
                                 content_type="application/rss+xml"))
    home = tmp_path / "home"
    report, fetched = bot_for(home).ingest_urls([web.url("/feed.xml")])
    assert report.added == 4 and fetched.report.pages == 4
    # a new process (state from the data home): 304, no page fetched
    report, fetched = bot_for(home).ingest_urls([web.url("/feed.xml")])
    assert fetched.requests == 1 and fetched.report.pages == 0
    assert fetched.report.unchanged_feeds == 1 and web.conditional["/feed.xml"] == 1
    assert report.ok and report.added == 0
    # the feed gains 5 items: exactly those 5 pages are fetched, each indexed once
    items[:0] = pages(web, "n", 5, start=4)
    before = sum(web.hits.values())
    report, fetched = bot_for(home).ingest_urls([web.url("/feed.xml")])
    assert fetched.report.pages == 5 and sum(web.hits.values()) - before == 6
    assert report.added == 5 and bot_for(home).info()["articles"] == 9


def test_items_whose_pages_fail_are_named_and_the_rest_indexed(
        web: WebServer, tmp_path: Path, cli_home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    items = pages(web, "ok", 8)
    items.insert(2, {"title": "Gone", "link": web.url("/gone.html"), "guid": "gone"})
    items.insert(5, {"title": "Also gone", "link": web.url("/gone2.html"), "guid": "gone2"})
    web.route("/feed.xml", Route(body=rss("News", items), content_type="application/rss+xml"))
    code, out, err = run_cli(capsys, "--home", str(cli_home), "ingest", "--quiet",
                         web.url("/feed.xml"))
    assert code == 1
    assert f"newsqa: skipped: {web.url('/gone.html')}: HTTP 404 Not Found" in err
    assert f"{web.url('/gone2.html')}: HTTP 404" in err
    assert "8 added" in out and "2 problem(s)" in out
    # a failed item is tried again by the next poll (the feed changed or not: no ETag here)
    code, out, err = run_cli(capsys, "--home", str(cli_home), "follow", "--once", "--quiet",
                         web.url("/feed.xml"))
    assert code == 1 and "0 added" in out and "gone.html: HTTP 404" in err
    assert web.hits["/ok/0.html"] == 1  # good items never fetched twice


# -- limits and hostile servers ---------------------------------------------------------------

def read(web: WebServer, *paths: str, **fetch: object) -> dict[str, str]:
    settings = FetchSettings(**{**LOOPBACK, **fetch})  # type: ignore[arg-type]
    with Fetcher(settings) as f:
        report = WebReader(f, FeedState(Path("/nonexistent-home")), settings).read(
            [p if "://" in p or ":" in p.split("/")[0] else web.url(p) for p in paths])
    assert not report.articles
    reasons: dict[str, str] = {}
    for e in report.failures:
        reasons[e.path] = (reasons.get(e.path, "") + " | " + e.reason).strip(" |")
    return reasons


def test_a_50_mb_page_is_cut_off_at_the_limit_while_it_streams(web: WebServer) -> None:
    web.route("/huge.html", Route(endless_mb=50))
    reasons = read(web, "/huge.html")
    assert "response too large" in reasons[web.url("/huge.html")]
    assert "NEWSQA_FETCH__MAX_RESPONSE_MB" in reasons[web.url("/huge.html")]
    time.sleep(0.5)
    assert web.sent["/huge.html"] < 20 * 1024 * 1024  # the client hung up long before 50 MB


def test_a_declared_oversize_body_is_refused_before_reading(web: WebServer) -> None:
    web.route("/big.html", Route(body=b"<p>" + b"x" * (3 * 1024 * 1024) + b"</p>"))
    assert "3.0 MB, over the 2 MB limit" in read(web, "/big.html")[web.url("/big.html")]


def test_a_stalled_server_times_out_with_the_setting_named(web: WebServer) -> None:
    web.route("/stall.html", Route(stall_s=4))
    t0 = time.monotonic()
    reasons = read(web, "/stall.html")
    assert time.monotonic() - t0 < 3
    assert "stalled" in reasons[web.url("/stall.html")]
    assert "NEWSQA_FETCH__READ_TIMEOUT_S" in reasons[web.url("/stall.html")]


def test_redirect_loops_and_long_chains_are_refused(web: WebServer) -> None:
    web.route("/a", Route(location="/b"))
    web.route("/b", Route(location="/a"))
    for i in range(7):
        web.route(f"/r{i}", Route(location=f"/r{i + 1}"))
    web.route("/r7", Route(body=page("end", story(0))))
    reasons = read(web, "/a", "/r0")
    assert "redirect loop" in reasons[web.url("/a")]
    assert "more than 5 redirects (NEWSQA_FETCH__MAX_REDIRECTS)" in reasons[web.url("/r0")]


def test_private_and_loopback_addresses_are_refused_by_default(web: WebServer) -> None:
    web.route("/to-private", Route(location="http://10.1.2.3/admin"))
    web.route("/to-loopback", Route(location="http://127.0.0.2:9/"))
    web.route("/to-metadata", Route(location="http://169.254.169.254/latest/meta-data/"))
    reasons = read(web, "/to-private", "/to-loopback", "/to-metadata")
    for path, target in (("/to-private", "10.1.2.3"), ("/to-loopback", "127.0.0.2:9"),
                         ("/to-metadata", "169.254.169.254")):
        reason = reasons[web.url(path)]
        assert f"redirects to http://{target}" in reason
        assert "private, loopback or link-local" in reason
        assert "NEWSQA_FETCH__ALLOW_PRIVATE_ADDRESSES" in reason
    # without the test's allowance, the loopback server itself is refused
    web.route("/p", Route(body=page("Harbour reopens", story(0))))
    local = web.url("/p").replace("127.0.0.1", "localhost")
    reasons = read(web, "/p", local, allowed_hosts=[])
    assert "127.0.0.1 is a private, loopback" in reasons[web.url("/p")]
    assert "localhost resolves to " in reasons[local]
    assert web.hits["/p"] == 0
    # the setting opens it
    settings = FetchSettings(allow_private_addresses=True)
    with Fetcher(settings) as f:
        assert f.get(web.url("/p")).status == 200


def test_the_address_is_checked_where_the_connection_is_made() -> None:
    # a public-looking name that resolves to a private address (DNS rebinding) is refused
    policy = AddressPolicy(allow_private=False, resolver=lambda host, port: ["10.0.0.7"])
    with pytest.raises(AddressRefused, match="news.example resolves to 10.0.0.7"):
        policy.address("news.example", 80)
    assert is_public("93.184.216.34") and is_public("2606:2800:220:1::1")
    for private in ("127.0.0.1", "10.0.0.1", "192.168.1.1", "172.16.0.1", "169.254.169.254",
                    "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "0.0.0.0", "224.0.0.1",
                    "100.64.0.1"):
        assert not is_public(private), private


def test_wrong_content_types_and_binary_bodies_are_refused(web: WebServer) -> None:
    web.route("/img.html", Route(body=b"\x89PNG\r\n\x1a\n" + bytes(200)))
    web.route("/pic.jpg", Route(body=b"\xff\xd8\xff\xe0" + bytes(200), content_type="image/jpeg"))
    web.route("/doc.json", Route(body=b'{"a": 1}', content_type="application/json"))
    reasons = read(web, "/img.html", "/pic.jpg", "/doc.json")
    assert "the bytes are a PNG image" in reasons[web.url("/img.html")]
    assert "content type image/jpeg is not HTML, XML or JSON" in reasons[web.url("/pic.jpg")]
    assert "not a JSON Feed" in reasons[web.url("/doc.json")]


def test_malformed_xml_is_named(web: WebServer) -> None:
    web.route("/bad.xml", Route(body=b"<?xml version='1.0'?><rss><channel><title>x"
                                     b"</title><item><title>a</item></channel>",
                                content_type="application/xml"))
    web.route("/junk.xml", Route(body=b"this is not xml at all <<<", content_type="text/xml"))
    reasons = read(web, "/bad.xml", "/junk.xml")
    assert "malformed XML" in reasons[web.url("/bad.xml")]
    assert "mismatched tag" in reasons[web.url("/bad.xml")]
    assert "not a readable feed: malformed XML" in reasons[web.url("/junk.xml")]


def test_only_http_urls_are_fetched(web: WebServer) -> None:
    reasons = read(web, "ftp://example.com/a", "javascript:alert(1)", "file:///etc/passwd")
    assert "only http and https URLs are fetched (ftp:)" in reasons["ftp://example.com/a"]
    assert "(javascript:)" in reasons["javascript:alert(1)"]
    assert "(file:)" in reasons["file:///etc/passwd"]


def test_hostile_titles_and_links_stay_text(web: WebServer, tmp_path: Path) -> None:
    from assistant.answer import Answer
    from ui.article import article_page
    from ui.render import sources_html

    hostile = 'Evil <script>alert(1)</script> ](javascript:alert(2)) <img src=x onerror=alert(3)>'
    web.route("/evil.html", Route(body=page("x", story(0))))
    web.route("/feed.xml", Route(body=rss("Feed <b>bold</b> [x](javascript:alert(4))", [
        {"title": hostile, "link": web.url("/evil.html"), "guid": "e"},
        {"title": "js link", "link": "javascript:alert(5)", "guid": "j"},
        {"title": "data link", "link": "data:text/html,<script>alert(6)</script>", "guid": "d"},
    ]), content_type="application/rss+xml"))
    bot = bot_for(tmp_path / "home")
    report, fetched = bot.ingest_urls([web.url("/feed.xml")])
    assert report.added == 1
    problems = [str(f) for f in report.failures]
    assert any("'javascript:alert(5)' is not an http(s) URL" in p for p in problems)
    assert any("'data:text/html" in p and "is not an http(s) URL" in p for p in problems)
    art = fetched.report.articles[0]
    assert "<script>" not in art.title and "alert(1)" in art.title  # tags dropped, text kept
    answer = bot.ask("Which harbour reopened on Monday?")
    html = sources_html(answer, {art.id: art}) + article_page(art, (0, 10))
    assert isinstance(answer, Answer) and answer.citations
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "onerror=" not in html.replace("onerror=alert(3)&gt;", "")


# -- follow --------------------------------------------------------------------------------

def test_follow_once_polls_every_feed_and_state_survives_restarts(
        web: WebServer, cli_home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    feeds = []
    for name in ("a", "b", "c"):
        items = pages(web, name, 4)
        web.route(f"/{name}.xml", Route(body=rss(f"Feed {name}", items), etag=True,
                                        content_type="application/rss+xml"))
        feeds.append(web.url(f"/{name}.xml"))
    code, out, err = run_cli(capsys, "--home", str(cli_home), "follow", "--once", "--quiet", *feeds)
    assert code == 0, err
    assert "poll 1: 15 request(s); 12 pages fetched" in out and "12 added" in out
    code, out, _ = run_cli(capsys, "--home", str(cli_home), "follow", "--once", "--quiet", *feeds)
    assert code == 0
    assert "3 request(s); 0 pages fetched; 3 feed(s), 3 unchanged" in out
    state = json.loads((cli_home / "follow" / "feeds.json").read_text())
    assert set(state["feeds"]) == set(feeds)
    assert all(len(f["seen"]) == 4 and f["etag"] for f in state["feeds"].values())


def test_follow_needs_feeds_and_a_valid_interval(cli_home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_cli(capsys, "--home", str(cli_home), "follow", "--once")
    assert code == 2 and "no feeds to follow" in err and "NEWSQA_FOLLOW__FEEDS" in err
    code, _, err = run_cli(capsys, "--home", str(cli_home), "follow", "http://x/rss",
                       "--every", "often")
    assert code == 2 and "'often' is not an interval like 30s, 15m or 2h" in err
    code, _, err = run_cli(capsys, "--home", str(cli_home), "ingest", "--rebuild", "http://x/rss")
    assert code == 2 and "--rebuild and --prune take files" in err


def test_a_damaged_state_file_costs_a_refetch_not_an_error(web: WebServer,
                                                           tmp_path: Path) -> None:
    items = pages(web, "d", 2)
    web.route("/feed.xml", Route(body=rss("News", items), etag=True,
                                 content_type="application/rss+xml"))
    home = tmp_path / "home"
    bot_for(home).ingest_urls([web.url("/feed.xml")])
    (home / "follow" / "feeds.json").write_text("{not json")
    report, fetched = bot_for(home).ingest_urls([web.url("/feed.xml")])
    assert report.ok and report.added == 0 and report.unchanged == 2  # same ids: no copies
    assert (home / "follow" / "feeds.damaged.json").exists()


def test_removed_articles_stay_removed_and_their_fetched_file_goes(
        web: WebServer, tmp_path: Path) -> None:
    items = pages(web, "r", 2)
    web.route("/feed.xml", Route(body=rss("News", items), content_type="application/rss+xml"))
    home = tmp_path / "home"
    bot = bot_for(home)
    _, fetched = bot.ingest_urls([web.url("/feed.xml")])
    assert fetched.path is not None and fetched.path.parent == home / "fetched"
    assert bot.remove([a.id for a in fetched.report.articles]) == \
        [a.id for a in fetched.report.articles]
    assert not fetched.path.exists()  # no file left to bring them back (check --repair)
    report, again = bot.ingest_urls([web.url("/feed.xml")])  # the feed still lists them
    assert report.added == 0 and again.report.pages == 0 and bot.info()["articles"] == 0


def test_malformed_urls_and_control_characters_are_named_safely(web: WebServer) -> None:
    evil = "http://example.com/\x1b[2J\x1b]0;owned\x07"
    reasons = read(web, "http://[::1", "http://exa mple.com/", "https://",
                   "http://example.com:99999/", evil)
    assert "Invalid IPv6 URL" in reasons["http://[::1"]
    assert "spaces or control characters" in reasons["http://exa mple.com/"]
    assert "has no host name" in reasons["https://"]
    assert "Port out of range" in reasons["http://example.com:99999/"]
    shown = [p for p in reasons if "example.com/\\x1b" in p]
    assert shown and all("\x1b" not in p and "\x07" not in p for p in reasons)


def test_a_bad_fetch_or_follow_setting_is_named(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    from assistant.errors import SettingsError
    from assistant.settings import load_settings

    for name, value in (("NEWSQA_FETCH__MAX_REDIRECTS", "-1"),
                        ("NEWSQA_FETCH__MAX_RESPONSE_MB", "lots"),
                        ("NEWSQA_FOLLOW__EVERY_MINUTES", "0"),
                        ("NEWSQA_FOLLOW__FEEDS", "not json")):
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingsError, match=name.split("__")[0]):
            load_settings(home=tmp_path / "home")
        monkeypatch.delenv(name)


def test_a_page_listed_by_two_feeds_is_fetched_once(web: WebServer, tmp_path: Path) -> None:
    items = pages(web, "shared", 2)
    web.route("/one.xml", Route(body=rss("One", items), content_type="application/rss+xml"))
    web.route("/two.xml", Route(body=rss("Two", items[:1]), content_type="application/rss+xml"))
    report, fetched = bot_for(tmp_path / "home").ingest_urls(
        [web.url("/one.xml"), web.url("/two.xml"), web.url("/shared/1.html")])
    assert report.ok and report.added == 2 and fetched.report.pages == 2
    assert web.hits["/shared/0.html"] == 1 and web.hits["/shared/1.html"] == 1
