"""The chat in a real browser: `newsqa serve` on a free port over an ingested seed home,
driven by headless Debian Chromium through playwright (never `playwright install`).
Screenshots go to tests/artifacts/."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import ROOT, SEEDS, free_port
from tests.serving import serving

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
Q1 = "Where are remaining IS cells?"
Q2 = "Who attacks the truffle hunters there?"
UPLOAD = (
    "date 2025-02-14\ntitle: Lighthouse of Kessel Bay restored\n\n"
    "The lighthouse of Kessel Bay was relit on Friday after a two-year restoration paid for "
    "by the fishermen's cooperative. The keeper, Marta Lindqvist, said the new lamp can be "
    "seen from forty kilometres out at sea.\n"
)


def _newsqa() -> list[str]:
    """The `newsqa` console script next to this Python, else the module itself."""
    script = Path(sys.executable).with_name("newsqa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ui.cli"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`newsqa serve` over a data home with seeds/ ingested; yields (url, home)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install chromium (scripts/test.sh does)")
    root = tmp_path_factory.mktemp("browser")
    home = root / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_")}
    env.update(NEWSQA_HOME=str(home), HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               PYTHONUNBUFFERED="1")
    subprocess.run([*_newsqa(), "ingest", "--quiet", str(SEEDS)], cwd=ROOT, env=env,
                   check=True, timeout=600, capture_output=True)
    port = free_port()
    with serving([*_newsqa(), "serve", "--port", str(port)], f"http://127.0.0.1:{port}/",
                 root / "serve.log", ROOT, env, 180) as url:
        yield url, home


def _sources_text(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator("#nq-sources").inner_text()


def _ask(page, question: str, expect_in_sources: str) -> float:  # type: ignore[no-untyped-def]
    """Type a question, press Enter, wait until the sources panel answers *this* question
    and shows the expected text; returns the seconds that took."""
    page.locator("#nq-question textarea").fill(question)
    t0 = time.perf_counter()
    page.locator("#nq-question textarea").press("Enter")
    panel = page.locator(f'#nq-sources .nq-sources[data-question="{question}"]')
    panel.wait_for(timeout=30_000)
    seconds = time.perf_counter() - t0
    assert expect_in_sources in panel.inner_text()
    return seconds


def _clear_of_label(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    """The text of `selector` starts below the sources panel's floating "Sources" label."""
    label_bottom, text_top = page.evaluate(
        """s => { const l = document.querySelector('#nq-sources [data-testid=block-label]');
        const r = document.createRange(); r.selectNodeContents(document.querySelector(s));
        return [l.getBoundingClientRect().bottom, r.getBoundingClientRect().top]; }""",
        selector)
    assert label_bottom <= text_top, f"the Sources label covers {selector}"


def test_chat_in_the_browser(server: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, home = server
    ARTIFACTS.mkdir(exist_ok=True)
    hosts: set[str] = set()
    fonts: list[str] = []  # font files the page downloaded
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda r: hosts.add(urlparse(r.url).hostname or r.url))
            page.on("request", lambda r: fonts.append(r.url) if "/fonts/" in r.url else None)
            page.goto(url, wait_until="load")
            page.locator("#nq-question textarea").wait_for(timeout=30_000)
            page.wait_for_function(
                "document.querySelector('#nq-status')?.innerText.includes('chunks indexed')",
                timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "0-start.png"), full_page=True)
            _clear_of_label(page, "#nq-sources .nq-empty")

            # 1. the seed question: answer with [n] markers, quote shown in its passage
            _ask(page, Q1, "Badia desert")
            mark = page.locator("#nq-sources mark", has_text="Badia desert")
            assert mark.count() >= 1 and mark.first.is_visible()
            assert "stayed intact, especially in the Badia desert" in mark.first.inner_text()
            chat = page.locator("#nq-chat").inner_text()
            assert "Badia desert" in chat and "[1]" in chat and "[3]" in chat
            # the short answer leads the reply in bold and is highlighted in its quote
            short = page.locator("#nq-sources mark .nq-answer").first
            assert short.is_visible() and page.locator("#nq-sources .nq-legend").is_visible()
            bold = page.locator("#nq-chat strong").first.inner_text()
            assert bold == short.inner_text(), (bold, short.inner_text())
            # bold text is in the system's fonts, every letter in one face (Gradio's
            # semibold file held a few glyphs: "A" and "B" came out in another weight)
            family = page.locator("#nq-chat strong").first.evaluate(
                "e => getComputedStyle(e).fontFamily")
            assert family.startswith("system-ui") and "Source Sans" not in family, family
            _clear_of_label(page, "#nq-sources .nq-legend")
            page.screenshot(path=str(ARTIFACTS / "1-answer.png"), full_page=True)

            # 2. a follow-up uses the conversation; a warm answer comes back quickly
            seconds = _ask(page, Q2, "hunting for truffles")
            print(f"warm follow-up answered in {seconds:.2f}s")
            assert seconds < 3.0
            assert Q2 in page.locator("#nq-chat").inner_text()
            page.locator("#nq-sources details summary").first.click()
            assert page.locator("#nq-sources .nq-article-text").first.is_visible()
            page.screenshot(path=str(ARTIFACTS / "2-followup-article.png"), full_page=True)

            # 2b. a quote opens its article at the quoted spot, highlighted, in a new tab
            link = page.locator("#nq-sources a.nq-open").first
            quote = page.locator("#nq-sources .nq-quote mark.nq-current").first.inner_text()
            with page.context.expect_page() as opened:
                link.click()
            view = opened.value
            view.wait_for_load_state("load")
            mark = view.locator("mark#quote")
            mark.wait_for(timeout=10_000)
            assert " ".join(mark.inner_text().split()) in " ".join(quote.split()) or \
                " ".join(quote.split()) in " ".join(mark.inner_text().split())
            box = mark.bounding_box()
            height = view.viewport_size["height"] if view.viewport_size else 1000
            assert box is not None and 0 <= box["y"] < height, box  # scrolled into view
            view.screenshot(path=str(ARTIFACTS / "2b-article-at-quote.png"))
            view.get_by_role("link", name="Back to the chat").click()  # a link, no script
            view.locator("#nq-question textarea").wait_for(timeout=30_000)
            assert urlparse(view.url).path == "/"
            view.close()

            # 2c. a date filter that excludes every article: the chat says nothing answers
            page.locator("#nq-filter").get_by_text("Filter by date and source").click()
            page.locator("#nq-since textarea, #nq-since input").first.fill("2031-01-01")
            page.locator("#nq-question textarea").fill("Who leads HTS?")
            page.locator("#nq-question textarea").press("Enter")
            page.get_by_text("don't say anything that answers").last.wait_for(timeout=30_000)
            page.locator("#nq-since textarea, #nq-since input").first.fill("")

            # 2d. nothing answers: the panel names the closest articles, no stray "."
            _ask(page, "What is the recipe for pancakes with blueberries?", "Nothing quoted")
            lines = [x.strip() for x in _sources_text(page).splitlines() if x.strip()]
            assert "The closest passages came from:" in lines, lines
            assert not any(x.strip(".…") == "" for x in lines), lines
            page.screenshot(path=str(ARTIFACTS / "2d-nothing-quoted.png"), full_page=True)

            # 3. a bad date is explained in the chat, and the chat keeps working
            page.locator("#nq-as-of textarea, #nq-as-of input").first.fill("10/12/2024")
            page.locator("#nq-question textarea").fill("Who leads HTS?")
            page.locator("#nq-question textarea").press("Enter")
            page.get_by_text("is not a date like 2024-12-10").wait_for(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "3-bad-date.png"), full_page=True)
            page.locator("#nq-as-of textarea, #nq-as-of input").first.fill("")

            # 4. a new chat, even while an answer is still coming (it is stopped, not
            # written back into the emptied chat), then an example question in one click
            page.locator("#nq-question textarea").fill("Who leads HTS?")
            page.locator("#nq-question textarea").press("Enter")
            page.locator("#nq-new").click()
            # Wait on the chat itself: after step 2c the sources may lack 'Badia' already,
            # so a wait on them alone does not wait for the reset.
            page.wait_for_function(
                "!document.querySelector('#nq-chat')?.innerText.includes('Who leads HTS?')",
                timeout=10_000)
            page.wait_for_function(
                "!document.querySelector('#nq-sources')?.innerText.includes('Badia')",
                timeout=10_000)
            page.wait_for_timeout(2_000)  # longer than a warm answer takes to stream
            assert "Who leads HTS?" not in page.locator("#nq-chat").inner_text()
            assert "al-Jolani" not in _sources_text(page)
            page.locator("#nq-examples").get_by_text("Who leads HTS?").click()
            page.locator('#nq-sources .nq-sources[data-question="Who leads HTS?"]').wait_for(
                timeout=30_000)
            assert "al-Jolani" in _sources_text(page)

            # 5. upload an article (and a refused file) and ask about it at once
            article = tmp_path / "kessel lighthouse.txt"
            article.write_text(UPLOAD, encoding="utf-8")
            page.locator("#nq-upload input[type=file]").set_input_files(str(article))
            page.get_by_text("You can ask about the new articles now").wait_for(timeout=120_000)
            page.wait_for_function(
                "document.querySelector('#nq-status')?.innerText.includes('2 articles')",
                timeout=30_000)
            # stored under its content hash and its name: same-name uploads never collide
            assert [f.name.split("-", 1)[1] for f in (home / "uploads").iterdir()] == \
                ["kessel_lighthouse.txt"]
            _ask(page, "Who keeps the lighthouse of Kessel Bay?", "Marta Lindqvist")
            assert "Lighthouse of Kessel Bay restored" in _sources_text(page)
            page.screenshot(path=str(ARTIFACTS / "4-uploaded.png"), full_page=True)

            refused = tmp_path / "notes.pdf"
            refused.write_bytes(b"%PDF-1.4 not an article")
            page.locator("#nq-upload input[type=file]").set_input_files(str(refused))
            page.wait_for_timeout(1500)
            assert not any(f.name.endswith("notes.pdf") for f in (home / "uploads").iterdir())
            page.screenshot(path=str(ARTIFACTS / "5-refused.png"), full_page=True)

            # 6. "Use via API" lists /ask
            page.get_by_text("Use via API").click()
            page.wait_for_function(
                "document.body.innerText.includes('api_name=\"/ask\"')", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "6-api.png"), full_page=True)
        finally:
            browser.close()
    assert hosts <= LOOPBACK, f"the page made requests off this machine: {hosts - LOOPBACK}"
    assert not [f for f in fonts if "SemiBold" in f], f"a partial font was loaded: {fonts}"
    leftovers = [p for p in (home / "tmp").rglob("*") if p.is_file() and p.stat().st_size]
    assert not leftovers, f"uploaded files left in Gradio's cache: {leftovers}"
