"""Rules of the web reader a hostile site could otherwise bend: one site's articles stay its
own, IPv6 forms that carry an IPv4 address are judged by it, allowed hosts may name a
port. Real HTTP on loopback (tests/webserver.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.errors import AddressRefused
from index.web.address import AddressPolicy, is_public, split_host_port
from index.web.reader import item_id, url_id
from tests.conftest import run_cli
from tests.test_web import bot_for, story
from tests.webserver import Route, WebServer, page
from ui import cli


@pytest.fixture
def web() -> Iterator[WebServer]:
    server = WebServer()
    yield server
    server.close()


def json_feed(title: str, items: list[dict[str, str]]) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": title,
                       "items": items}).encode()


def test_a_feed_cannot_replace_another_sites_article(web: WebServer, tmp_path: Path) -> None:
    """A feed on another host whose item id is this site's article URL (and no link) gets
    an article of its own; the site's article keeps its text, title and source."""
    web.route("/news/1.html", Route(body=page("Harbour reopens", story(1))))
    own_url = web.url("/news/1.html").replace("127.0.0.1", "localhost")
    bot = bot_for(tmp_path, allowed_hosts=["127.0.0.1", "localhost"])
    bot.ingest_urls([own_url])
    own = bot.article(url_id(own_url))
    assert own is not None and "reopened" in own.text

    other = WebServer()  # 127.0.0.1: another host name than localhost
    try:
        feed = json_feed("Impostor", [{"id": own_url, "title": "Harbour reopens",
                                       "content_text": "The harbour was closed for good."}])
        other.route("/feed.json", Route(body=feed, content_type="application/feed+json"))
        bot.ingest_urls([other.url("/feed.json")])
        after = bot.article(url_id(own_url))
        assert after is not None and after.text == own.text and after.url == own.url
        assert after.source == own.source
        claimed = bot.article(item_id(other.url("/feed.json"), own_url))
        assert claimed is not None and claimed.text == "The harbour was closed for good."
        assert claimed.url is None and claimed.source == "Impostor"
    finally:
        other.close()


def test_a_feed_may_name_its_own_sites_urls_as_item_ids(web: WebServer, tmp_path: Path) -> None:
    own_url = web.url("/news/2.html")
    feed = json_feed("Own", [{"id": own_url, "title": "Bridge", "content_text": "The bridge "
                              "of Springfield opened to traffic on Monday."}])
    web.route("/feed.json", Route(body=feed, content_type="application/feed+json"))
    bot = bot_for(tmp_path)
    bot.ingest_urls([web.url("/feed.json")])
    art = bot.article(url_id(own_url))
    assert art is not None and art.url is not None and art.url.endswith("/news/2.html")


def test_a_single_page_ingest_says_one_page_fetched(web: WebServer, tmp_path: Path,
                                                     capsys,  # type: ignore[no-untyped-def]
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    web.route("/a.html", Route(body=page("Harbour", story(1))))
    monkeypatch.setattr(cli, "_open", lambda args: bot_for(tmp_path / "home"))
    code, out, err = run_cli(capsys, "ingest", web.url("/a.html"))
    assert code == 0, err
    assert "1 request(s); 1 page fetched" in out


@pytest.mark.parametrize("address", [
    "64:ff9b::7f00:1",        # NAT64 of 127.0.0.1
    "64:ff9b::a00:1",         # NAT64 of 10.0.0.1
    "2002:7f00:1::1",         # 6to4 of 127.0.0.1
    "2002:c0a8:101::",        # 6to4 of 192.168.1.1
    "::127.0.0.1",            # IPv4-compatible
    "::10.0.0.1",
    "::ffff:169.254.169.254",  # mapped link-local (cloud metadata)
])
def test_ipv6_forms_carrying_a_private_ipv4_are_refused(address: str) -> None:
    assert not is_public(address)
    policy = AddressPolicy(allow_private=False, resolver=lambda h, p: [address])
    with pytest.raises(AddressRefused, match="private, loopback or link-local"):
        policy.address("rebind.example", 80)


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1",
                                     "::ffff:8.8.8.8", "2606:4700:4700::1111"])
def test_ipv6_forms_carrying_a_public_ipv4_pass(address: str) -> None:
    assert is_public(address)


def test_allowed_hosts_may_name_a_port() -> None:
    assert split_host_port("feeds.local:8080") == ("feeds.local", 8080)
    assert split_host_port("[fd00::1]:8443") == ("fd00::1", 8443)
    assert split_host_port("fd00::1") == ("fd00::1", None)
    assert split_host_port("10.0.0.5") == ("10.0.0.5", None)
    policy = AddressPolicy(allow_private=False, allowed_hosts=["feeds.local:8080"],
                           resolver=lambda h, p: ["10.0.0.5"])
    assert policy.address("feeds.local", 8080) == "10.0.0.5"
    with pytest.raises(AddressRefused):
        policy.address("feeds.local", 22)  # the same host, another port: refused
    by_address = AddressPolicy(allow_private=False, allowed_hosts=["10.0.0.5:8080"],
                               resolver=lambda h, p: ["10.0.0.5"])
    assert by_address.address("intranet", 8080) == "10.0.0.5"
    with pytest.raises(AddressRefused):
        by_address.address("intranet", 6379)


def test_a_non_json_allowed_hosts_variable_is_named(monkeypatch: pytest.MonkeyPatch,
                                                    capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NEWSQA_FETCH__ALLOWED_HOSTS", "feeds.local")
    code, out, err = run_cli(capsys, "info")
    assert code == 2
    assert "NEWSQA_FETCH__ALLOWED_HOSTS must be a JSON list" in err
    assert "NEWSQA_FETCH__ALLOWED_HOSTS='[" in err


def test_an_unwritable_data_home_exits_2_with_a_message(capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(capsys, "--home", "/proc", "ingest", "seeds/")
    assert code == 2
    assert "nothing can be written in /proc" in err and "Traceback" not in err


def test_a_fetched_page_over_the_element_limit_is_named_and_skipped(web: WebServer,
                                                                    tmp_path: Path) -> None:
    from assistant.service import Assistant
    from tests.conftest import make_settings
    from tests.fakes import FakeEmbedder
    from tests.test_web import LOOPBACK

    web.route("/big.html", Route(body=page("Big", [f"Line {i}." for i in range(3000)])))
    web.route("/ok.html", Route(body=page("Harbour", story(1))))
    bot = Assistant(make_settings(tmp_path, fetch=LOOPBACK,
                                  ingest={"max_html_elements": 1000}),
                    embedder=FakeEmbedder())
    report, _ = bot.ingest_urls([web.url("/big.html"), web.url("/ok.html")])
    reasons = {f.path: f.reason for f in report.failures}
    assert "over 1,000 elements" in reasons[web.url("/big.html")]
    assert "NEWSQA_INGEST__MAX_HTML_ELEMENTS" in reasons[web.url("/big.html")]
    assert report.added == 1
