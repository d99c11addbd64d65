"""What a hostile site sends after the connection is made: compression bombs in every
content coding and stack of them, headers or bodies that trickle past the total timeout,
codings that cannot be decoded under the limit. Real HTTP on loopback
(tests/hostile.py); every case fails with the URL and the limit named, within bounded
memory and time, and the rest of a feed is still indexed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import brotli
import pytest
from backports import zstd

from index.errors import FetchError, FetchTimeout, UnsupportedContent
from index.settings import FetchSettings
from index.web.fetch import Fetcher
from tests.conftest import run_cli
from tests.hostile import (
    HostileSite,
    brotli_bomb,
    empty_deflate_blocks,
    gzip_bomb,
    gzip_bytes,
    respond,
    trickle_headers,
    zstd_bomb,
)
from tests.test_web import bot_for, pages
from tests.webserver import Route, WebServer, page, rss
from ui import cli

ROOT = Path(__file__).resolve().parents[1]
FAST = {"allowed_hosts": ["127.0.0.1"], "read_timeout_s": 1.0, "total_timeout_s": 2.0}
ARTICLE = page("Harbour reopens", ["The harbour of Springfield reopened on Monday after a "
                                   "renovation that cost 12 million dollars, officials said.",
                                   "Fishermen welcomed the new quay and its cranes."])


@pytest.fixture
def site() -> Iterator[HostileSite]:
    s = HostileSite()
    yield s
    s.close()


@pytest.fixture
def web() -> Iterator[WebServer]:
    server = WebServer()
    yield server
    server.close()


def fetcher(**settings: object) -> Fetcher:
    return Fetcher(FetchSettings(**{**FAST, **settings}))  # type: ignore[arg-type]


def _raw_deflate(data: bytes) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return z.compress(data) + z.flush()


@pytest.mark.parametrize(("coding", "encode"), [
    ("gzip", gzip_bytes),
    ("x-gzip", gzip_bytes),
    ("deflate", zlib.compress),
    ("deflate", _raw_deflate),  # some servers send deflate without the zlib wrapper
    ("br", brotli.compress),
    ("zstd", zstd.compress),
    ("gzip, br", lambda b: brotli.compress(gzip_bytes(b))),
    ("deflate, gzip", lambda b: gzip_bytes(zlib.compress(b))),
])
def test_every_content_coding_and_stack_is_decoded(site: HostileSite, coding: str,
                                                   encode: object) -> None:
    site.on("/a.html", respond(encode(ARTICLE), encoding=coding))  # type: ignore[operator]
    with fetcher() as f:
        body = f.get(site.url("/a.html")).body
    assert body == ARTICLE


def test_bytes_after_a_whole_gzip_member_are_ignored_as_browsers_do(site: HostileSite) -> None:
    site.on("/padded.html", respond(gzip_bytes(ARTICLE) + b"\x00" * 64, encoding="gzip"))
    site.on("/two.html", respond(gzip_bytes(ARTICLE[:100]) + gzip_bytes(ARTICLE[100:]),
                                 encoding="gzip"))
    with fetcher() as f:
        assert f.get(site.url("/padded.html")).body == ARTICLE
        assert f.get(site.url("/two.html")).body == ARTICLE  # members are concatenated


def test_the_codings_asked_for_are_the_ones_decoded_under_the_limit(web: WebServer) -> None:
    seen: dict[str, str] = {}

    def body() -> bytes:
        return ARTICLE
    web.route("/a.html", Route(body=body))
    with fetcher() as f:
        f.get(web.url("/a.html"))
        seen = dict(f._client.headers)
    assert seen["accept-encoding"] == "gzip, deflate, br, zstd"


# Each expands to 4 GB; sent whole, in a few network chunks of up to 64 KB.
BOMBS = {
    "gzip": (lambda: gzip_bomb(4096), "gzip"),                       # 4.3 MB on the wire
    "gzip, gzip": (lambda: gzip_bytes(gzip_bomb(4096)), "gzip, gzip"),  # 10 KB
    "br": (lambda: brotli_bomb(4096), "br"),                         # 2.7 MB
    "zstd": (lambda: zstd_bomb(4096), "zstd"),                       # 200 KB
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_4_gb_compression_bomb_stops_at_the_limit_in_bounded_memory(
        site: HostileSite, tmp_path: Path, name: str) -> None:
    make, coding = BOMBS[name]
    site.on("/bomb.html", respond(make(), encoding=coding))
    # Measured in a process of its own: its peak RSS after the fetch against before.
    script = textwrap.dedent(f"""
        import json, re
        from pathlib import Path
        from index.errors import FetchError
        from index.settings import FetchSettings
        from index.web.fetch import Fetcher
        def peak_kb():  # VmHWM: this address space's own peak (ru_maxrss starts at the
            status = Path("/proc/self/status").read_text()  # parent's after a fork)
            return int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
        f = Fetcher(FetchSettings(allowed_hosts=["127.0.0.1"], max_response_mb=10))
        before = peak_kb()
        try:
            f.get({site.url("/bomb.html")!r})
            error = None
        except FetchError as exc:
            error = str(exc)
        print(json.dumps({{"error": error, "grew_mb": (peak_kb() - before) / 1024}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["error"] is not None
    assert "response too large" in result["error"]
    assert "NEWSQA_FETCH__MAX_RESPONSE_MB" in result["error"]
    assert site.url("/bomb.html") in result["error"]
    assert result["grew_mb"] < 100, result  # the bound is 300 MB over idle


def test_unknown_and_too_deeply_stacked_codings_are_refused_by_name(
        site: HostileSite) -> None:
    site.on("/lzw.html", respond(ARTICLE, encoding="compress"))
    once = gzip_bytes(ARTICLE)
    site.on("/deep.html", respond(gzip_bytes(gzip_bytes(gzip_bytes(once))),
                                  encoding="gzip, gzip, gzip, gzip"))
    site.on("/broken.html", respond(b"\x1f\x8b\x08\x00garbage" * 10, encoding="gzip"))
    with fetcher() as f:
        with pytest.raises(UnsupportedContent, match="content coding 'compress' is not "
                           "supported") as lzw:
            f.get(site.url("/lzw.html"))
        with pytest.raises(UnsupportedContent, match="4 stacked content codings"):
            f.get(site.url("/deep.html"))
        with pytest.raises(FetchError, match="gzip content coding is corrupt"):
            f.get(site.url("/broken.html"))
    assert site.url("/lzw.html") in str(lzw.value)


def test_trickling_headers_fail_at_the_total_timeout(site: HostileSite) -> None:
    site.on("/slow.html", trickle_headers(30))
    start = time.monotonic()
    with fetcher() as f, pytest.raises(FetchTimeout) as err:
        f.get(site.url("/slow.html"))
    took = time.monotonic() - start
    assert took < 2.0 + 2.0
    assert "NEWSQA_FETCH__TOTAL_TIMEOUT_S" in str(err.value)
    assert site.url("/slow.html") in str(err.value)


def test_a_body_of_endless_empty_blocks_fails_at_the_total_timeout(site: HostileSite) -> None:
    site.on("/empty.html", empty_deflate_blocks(30))
    start = time.monotonic()
    with fetcher() as f, pytest.raises(FetchTimeout, match="TOTAL_TIMEOUT_S"):
        f.get(site.url("/empty.html"))
    assert time.monotonic() - start < 2.0 + 2.0


def test_a_slow_dns_answer_counts_against_the_total_timeout() -> None:
    def slow(host: str, port: int) -> list[str]:
        time.sleep(5)
        return ["127.0.0.1"]

    f = Fetcher(FetchSettings(**FAST), resolver=slow)  # type: ignore[arg-type]
    start = time.monotonic()
    with f, pytest.raises(FetchTimeout, match="TOTAL_TIMEOUT_S"):
        f.get("http://slow-dns.example/a.html")
    assert time.monotonic() - start < 2.0 + 2.0


def test_a_trickling_item_and_a_bomb_are_named_and_the_rest_of_the_feed_indexed(
        web: WebServer, site: HostileSite, tmp_path: Path, capsys,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    cli_home = tmp_path / "home"
    monkeypatch.setattr(cli, "_open", lambda args: bot_for(cli_home, **FAST))
    site.on("/slow.html", trickle_headers(30))
    site.on("/bomb.html", respond(gzip_bytes(gzip_bomb(4096)), encoding="gzip, gzip"))
    items = pages(web, "good", 2)
    items.append({"title": "Slow", "link": site.url("/slow.html"), "guid": "slow"})
    items.append({"title": "Bomb", "link": site.url("/bomb.html"), "guid": "bomb"})
    web.route("/feed.xml", Route(body=rss("Mixed", items),
                                 content_type="application/rss+xml"))
    start = time.monotonic()
    code, out, err = run_cli(capsys, "--home", str(cli_home), "ingest", "--quiet",
                             web.url("/feed.xml"))
    assert time.monotonic() - start < 30
    assert code == 1
    assert f"{site.url('/slow.html')}: the response took over 2 s" in err
    assert "TOTAL_TIMEOUT_S" in err
    assert f"{site.url('/bomb.html')}: response too large" in err
    assert "2 added" in out
