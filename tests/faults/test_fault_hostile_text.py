"""Hostile article text and metadata: markdown, HTML and JS payloads in every field show
as text. Unit checks of the rendered markdown/HTML, then the real chat in Chromium."""

from __future__ import annotations

import itertools
import json
import os
import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from assistant.service import Assistant
from tests.conftest import ROOT, make_settings
from tests.fakes import FakeEmbedder
from tests.serving import serving
from ui import render

PHISH = "phish.example"
JS = "window.__pwned=1"
HOSTILE = [
    {
        "id": 'ferry"><img src=x onerror="window.__pwned=1">',
        "title": f'**Ferry strike** <img src=x onerror="{JS}"> [Log in](http://{PHISH}/login) '
                 f"<script>{JS}</script>",
        "url": f"https://news.example.com/a) **[Log in](http://{PHISH}/login)** (",
        "source": f"<b>Harwick Post</b> [home](http://{PHISH})",
        "date": "2024-05-02",
        "text": (
            f"The ferry strike in Harwick ended on Monday <script>{JS}</script> after talks, "
            f"see [Log in](http://{PHISH}/login) or www.{PHISH} now. "
            f'Ferry workers in Harwick won a raise <img src=x onerror="{JS}"> of 4 percent '
            f'and <a href="http://{PHISH}">a bonus</a> **at once** ![x](http://{PHISH}/x.png). '
            f"The Harwick ferry strike had lasted nine days [1](javascript:alert(1)) "
            f"&lt;b&gt;escaped&lt;/b&gt; `code` <iframe src=http://{PHISH}></iframe>."
        ),
    },
    {
        "id": "ferry-2",
        "title": f"<iframe src=http://{PHISH}></iframe> Harwick ferry timetable",
        "url": "javascript:alert(document.cookie)",
        "text": "The Harwick ferry strike timetable returns to normal on Tuesday, the "
                "ferry company said.",
    },
]
QUESTION = "When did the ferry strike in Harwick end?"


def _bot(tmp_path: Path) -> Assistant:
    src = tmp_path / "hostile.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in HOSTILE), encoding="utf-8")
    bot = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    assert bot.ingest([src]).ok
    return bot


def test_rendered_markdown_and_html_carry_no_foreign_link_or_element(tmp_path: Path) -> None:
    bot = _bot(tmp_path)
    answer = bot.ask(QUESTION)
    assert answer.citations and any(c.article_id == HOSTILE[0]["id"] for c in answer.citations)
    hedged = render.answer_markdown(answer, confident_at=1.0)  # "Not sure; ... X or Y"
    assert re.search(r"(?<!\\)<", hedged) is None and hedged.count("](") == 1
    md = render.answer_markdown(answer, confident_at=0.0)  # the short answer stated
    # the only markdown link is the article's own, percent-encoded: one destination
    assert md.count("](") == 1
    assert "](https://news.example.com/a%29%20%2A%2A%5BLog%20in%5D%28http://phish.example/" \
           "login%29%2A%2A%20%28)" in md
    own = md[md.index("](https://news.example.com/"):]
    rest = md.replace(own[:own.index(")") + 1], "")
    # no markup outside escapes: '<' and '**' only escaped; urls broken so none autolinks
    assert re.search(r"(?<!\\)<", rest) is None
    markers = re.findall(r"\*\*\\\[\d\\\]\*\*", rest)  # the bold [n] of each quote
    # ... and the short answer in bold at the top, its text escaped
    lead = 1 if answer.short_answer is not None else 0
    if lead:
        assert rest.startswith(f"**{render.md_escape(answer.short_answer.text)}** **\\[")  # type: ignore[union-attr]
    assert markers and len(re.findall(r"(?<!\\)\*\*", rest)) == 2 * (len(markers) + lead)
    assert re.search(r"(?<!\\)://|(?<!\\)www\.|\]\(", rest) is None
    html_ = render.sources_html(answer, {a: bot.article(a) for a in  # type: ignore[misc]
                                         {c.article_id for c in answer.citations}})
    for raw in ("<script", "<img", "<iframe", 'href="http://phish', 'href="javascript',
                "<b>", 'onerror="'):
        assert raw not in html_


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update"]
SERVE = """
import sys
sys.path.insert(0, {root!r})
from assistant.service import Assistant
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder
from ui import server
bot = Assistant(make_settings({home!r}), embedder=FakeEmbedder())
assert bot.ingest([{src!r}]).ok
server.launch(bot, host="127.0.0.1", port={port}, block=True, quiet=True)
"""


@pytest.fixture
def hostile_server(tmp_path: Path) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install chromium (scripts/test.sh does)")
    src = tmp_path / "hostile.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in HOSTILE), encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_")}
    env.update(HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    script = SERVE.format(root=str(ROOT), home=str(tmp_path / "home"), src=str(src), port=port)
    with serving([sys.executable, "-c", script], f"http://127.0.0.1:{port}/",
                 tmp_path / "serve.log", ROOT, env, 120) as url:
        yield url


@pytest.mark.browser
def test_payloads_in_every_field_show_as_text_in_the_browser(hostile_server: str) -> None:
    from playwright.sync_api import sync_playwright

    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(hostile_server, wait_until="load")
            box = page.locator("#nq-question textarea")
            box.wait_for(timeout=30_000)
            box.fill(QUESTION)
            box.press("Enter")
            page.locator(f'#nq-sources .nq-sources[data-question="{QUESTION}"]').wait_for(
                timeout=30_000)
            page.wait_for_function(  # the streamed answer is complete
                "document.querySelector('#nq-chat')?.innerText.includes('Sources:')",
                timeout=30_000)
            page.locator("#nq-sources details summary").first.click()
            page.wait_for_timeout(500)
            scope = "#nq-chat, #nq-sources"
            found = page.evaluate(
                """(scope) => {
                  const roots = [...document.querySelectorAll(scope)];
                  const all = (sel) => roots.flatMap(r => [...r.querySelectorAll(sel)]);
                  return {
                    pwned: window.__pwned === 1,
                    elements: all('script, img, iframe, object, embed').map(e => e.outerHTML),
                    handlers: all('*').filter(e => [...e.attributes].some(
                        a => a.name.startsWith('on'))).map(e => e.outerHTML),
                    links: all('a[href]').map(a => a.href),
                    bold: all('strong, b').map(e => e.innerText.trim()),
                    text: roots.map(r => r.innerText).join('\\n'),
                  };
                }""", scope)
            page.screenshot(path=str(Path(__file__).resolve().parent.parent / "artifacts"
                                     / "hostile.png"), full_page=True)
        finally:
            browser.close()
    assert not found["pwned"] and not dialogs
    assert found["elements"] == [] and found["handlers"] == []
    for href in found["links"]:
        parsed = urlparse(href)
        if parsed.hostname == "127.0.0.1":  # "open in the article": this server's own page
            assert parsed.path.startswith("/article/") and parsed.fragment == "quote", href
            assert not set('"<> ') & set(parsed.path), href  # the hostile id stays encoded
            continue
        assert parsed.scheme in ("http", "https") and parsed.hostname == "news.example.com", href
    assert found["links"], "the article's own link is shown"
    # bold: the [n] markers, and the short answer that leads the reply (plain text)
    # (two names lead when the answer is hedged: "Not sure; the articles suggest X or Y")
    names = list(itertools.takewhile(lambda b: not b.strip("[]").isdigit(), found["bold"]))
    assert 1 <= len(names) <= 2 and all(b.strip("[]").isdigit()
                                        for b in found["bold"][len(names):]), found["bold"]
    assert found["bold"][0].strip("[]").isdigit() or "<" not in found["bold"][0]
    text = found["text"]
    # the payloads are there, as text
    assert f"<script>{JS}</script>" in text and "[Log in](http://phish.example/login)" in text
    assert "www.phish.example" in text and "**Ferry strike**" in text
