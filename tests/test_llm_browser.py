"""The LLM chat in a real browser (headless Debian Chromium, fake OpenAI server): the
model's reply streams in, is then replaced by the checked version with its note, and
hostile markdown or HTML in the model's text stays inert text at every step."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.service import Assistant
from tests.conftest import SEED_FILE, free_port, make_settings
from tests.fake_llm import FakeLLMServer, Reply, Request, json_reply
from tests.fakes import FakeEmbedder
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS

pytestmark = pytest.mark.browser

Q = "Who was the commander of the Al-Nusra Front?"
HOSTILE = ('Abu Mohammed al-Jolani <img src=x onerror="window.__pwned=1"> '
           '[click](javascript:window.__pwned=2) <script>window.__pwned=3</script>')


def _script(req: Request) -> Reply:
    sid = next((i for i, t in req.sentences().items() if "Jolani" in t), "1.1")
    reply = json_reply(HOSTILE, [
        {"text": "Abu Mohammed al-Jolani commanded it.", "ids": [sid], "quotes": []},
        {"text": HOSTILE, "ids": [], "quotes": [{"passage": 1, "quote": "never said this"}]},
    ], chunk_chars=6)
    reply.chunk_delay_s = 0.03  # slow enough that the streamed reply is seen before checking
    return reply


@pytest.fixture(scope="module")
def chat_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install chromium (scripts/test.sh does)")
    from ui.server import launch

    with FakeLLMServer(_script) as llm:
        bot = Assistant(make_settings(tmp_path_factory.mktemp("llm-browser") / "home"),
                        embedder=FakeEmbedder())
        bot.ingest([SEED_FILE])
        bot.settings.answer.llm.url = llm.url
        port = free_port()
        demo = launch(bot, host="127.0.0.1", port=port, block=False, quiet=True, llm=True)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()
            demo.worker.stop()


def _inert(page: Any) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#nq-chat img[src='x']").count() == 0
    assert page.locator("#nq-chat a[href^='javascript']").count() == 0
    assert page.locator("#nq-chat script").count() == 0


def test_llm_reply_streams_then_is_replaced_by_the_checked_answer(chat_url: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.goto(chat_url, wait_until="load")
        page.locator("#nq-question textarea").wait_for(timeout=60_000)
        page.locator("#nq-question textarea").fill(Q)
        page.locator("#nq-question textarea").press("Enter")
        chat = page.locator("#nq-chat")
        # 1. the model's own words appear while it streams, before any checking is done
        seen_stream = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = chat.inner_text()
            if "commanded it" in text and "quotes" not in text.split("commanded it")[-1]:
                seen_stream = True
            if "dropped" in text or "fell back" in text:
                break
            _inert(page)
            time.sleep(0.05)
        page.screenshot(path=str(ARTIFACTS / "llm-chat.png"), full_page=True)
        final = chat.inner_text()
        # 2. the checked version replaced it, with its note
        assert seen_stream, final
        assert "commanded it" in final and "[1]" in final
        assert "1 of 2 quotes" in final and "dropped" in final, final
        assert "never said this" not in final
        # 3. the hostile text never became markup, at any step
        _inert(page)
        browser.close()
