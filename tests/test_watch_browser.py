"""The chat's watched questions in a real browser (headless Debian Chromium, fake
embedder): ask, press *Watch this question*, index an article that changes the answer,
and the *Watched questions* panel shows the watch with its one change, newest first."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.service import Assistant
from tests.conftest import free_port, make_settings
from tests.fakes import FakeEmbedder
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
from tests.test_watch import CHANGE, FIRST, Q, write
from ui.server import launch

pytestmark = pytest.mark.browser


def test_watch_a_question_and_see_its_change_in_the_chat(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install chromium (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    bot = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    assert bot.ingest([write(tmp_path / "first.jsonl", FIRST)]).ok
    port = free_port()
    demo = launch(bot, host="127.0.0.1", port=port, block=False, quiet=True)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1100})
                page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
                page.locator("#nq-question textarea").fill(Q)
                page.locator("#nq-question textarea").press("Enter")
                page.locator(f'#nq-sources .nq-sources[data-question="{Q}"]').wait_for(
                    timeout=30_000)
                page.locator("#nq-watch").click()
                page.get_by_text("Watching").first.wait_for(timeout=30_000)
                assert [w.question for w in bot.watcher.watches()] == [Q]

                bot.ingest([write(tmp_path / "change.jsonl", CHANGE)], drop_missing=False)
                page.locator("#nq-watched").get_by_text("Watched questions").click()
                page.locator("#nq-watched-refresh").click()
                change = page.locator("#nq-watched-list .nq-change")
                change.first.wait_for(timeout=30_000)
                assert change.count() == 1
                text = change.first.inner_text()
                assert "Maria Okafor" in text and "Tomas Lindqvist" in text
                assert "Daily Dock, 2026-10-22" in text  # the new citation's source and date
                now = page.locator("#nq-watched-list .nq-watch-now").first.inner_text()
                assert "Tomas Lindqvist" in now
                page.screenshot(path=str(ARTIFACTS / "watch-change.png"), full_page=True)
            finally:
                browser.close()
    finally:
        demo.close()
        demo.worker.stop()
