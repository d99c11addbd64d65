"""`newsqa serve` listens at once and says when it is ready: every model an ask uses is
loaded by a warm-up in the background; until then /api/health says `"ready": false` and
asks get 503 with Retry-After instead of a cold, slow answer."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from assistant.service import Assistant
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder
from tests.test_api import HARBOUR, free_port, wait
from ui.server import launch


def test_asks_before_the_warm_up_get_503_with_retry_after_then_answers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bot = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    loading = threading.Event()
    warmed = []
    monkeypatch.setattr(bot, "warm", lambda: (loading.wait(30), warmed.append(True)))
    port = free_port()
    demo = launch(bot, host="127.0.0.1", port=port, block=False, quiet=True, warm=True)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            health = client.get("/api/health").json()
            assert health["ready"] is False
            early = client.post("/api/ask", json={"question": "When did the harbour reopen?"})
            assert early.status_code == 503
            assert early.headers["retry-after"] == "2"
            assert "still loading its models" in early.json()["error"]
            assert client.get("/").status_code == 200  # the chat page is served meanwhile
            loading.set()
            assert demo.ready.wait(10) and warmed == [True]
            assert client.get("/api/health").json()["ready"] is True
            pushed = client.post("/api/articles", json={"articles": [HARBOUR]})
            assert wait(client, pushed.json()["job_id"])["state"] == "done"
            bot_ready = client.post("/api/ask", json={"question": "When did the harbour "
                                                                  "reopen?"})
            assert bot_ready.status_code == 200
    finally:
        loading.set()
        demo.close()
        demo.worker.stop()


def test_health_without_credentials_still_says_whether_it_is_ready(tmp_path: Path) -> None:
    bot = Assistant(make_settings(tmp_path / "home", serve={"api_token": "s3cret-token"}),
                    embedder=FakeEmbedder())
    port = free_port()
    demo = launch(bot, host="127.0.0.1", port=port, block=False, quiet=True)
    try:
        body = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=30).json()
        assert body == {"status": "ok", "ready": True}  # nothing about feeds, paths, jobs
    finally:
        demo.close()
        demo.worker.stop()


@pytest.mark.integration
def test_warm_loads_every_model_an_ask_uses(seed_bot: Assistant) -> None:
    """After `warm`, spaCy and the span model are loaded: the first real question pays
    no loading (before, the warm-up ask abstained before the reader, and the first user
    waited for spaCy and the span model)."""
    from assistant.reader import mention
    from assistant.reader.model import shipped

    seed_bot.warm()
    assert mention._NLP is not None
    model = shipped(seed_bot.settings.answer.span_model)
    assert model._loaded is not None
    answer = seed_bot.ask("Who leads HTS?")
    assert answer.citations
