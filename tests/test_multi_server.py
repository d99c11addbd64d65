"""Two `newsqa serve` processes, each with its own data home, on one real Chroma server
(`chroma run`): an article pushed to one becomes findable on the other within seconds, by
keywords and by meaning, with no restart."""

from __future__ import annotations

import os
import shutil
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SEED_FILE, free_port
from tests.serving import serving

pytestmark = [pytest.mark.server, pytest.mark.integration]

NEW = {"id": "oslo-tram", "title": "Oslo tram strike ends after nine days",
       "date": "2024-03-01",
       "text": "The Oslo tram strike ended on Friday after nine days, when drivers accepted "
               "a new pay offer from the city. Trams run on every line again from Saturday."}


def _ask(url: str, question: str) -> dict:  # type: ignore[type-arg]
    r = httpx.post(url + "/api/ask", json={"question": question}, timeout=120)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _push(url: str, articles: list[dict[str, str]]) -> None:
    r = httpx.post(url + "/api/articles", json={"articles": articles}, timeout=60)
    assert r.status_code == 202, r.text
    job = r.json()["job_id"]
    deadline = time.monotonic() + 120
    while (state := httpx.get(f"{url}/api/jobs/{job}", timeout=30).json())["state"] \
            not in ("done", "failed"):
        assert time.monotonic() < deadline, state
        time.sleep(0.3)
    assert state["state"] == "done" and state["articles_done"] == len(articles), state


def test_a_push_to_one_server_is_found_on_the_other(
    tmp_path: Path, chroma_url: str, model_home: Path, real_embedder: object
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_")}
    env.update(NEWSQA_STORE__CHROMA_URL=chroma_url, NEWSQA_STORE__COLLECTION="twoservers",
               HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1",
               PYTHONPATH=str(ROOT))
    newsqa = [sys.executable, "-m", "ui.cli"]
    urls = []
    with ExitStack() as stack:
        for name in ("a", "b"):
            home = tmp_path / name
            shutil.copytree(model_home / "models", home / "models")  # the ONNX export, once
            port = free_port()
            urls.append(stack.enter_context(serving(
                [*newsqa, "--home", str(home), "serve", "--port", str(port)],
                f"http://127.0.0.1:{port}/api/health", tmp_path / f"{name}.log", ROOT, env,
                180)).removesuffix("/api/health"))
        one, two = urls
        _push(one, [{"id": "seed", "text": SEED_FILE.read_text()}])
        assert "Badia desert" in _ask(two, "Where are remaining IS cells?")["answer"]
        assert not any(c["article_id"] == "oslo-tram"
                       for c in _ask(two, "Oslo tram strike")["citations"])
        _push(one, [NEW])
        assert httpx.get(two + "/api/health", timeout=30).json()["articles"] == 2

        # The other server notices on its next asks and catches up in the background.
        deadline = time.monotonic() + 20
        while True:
            by_keyword = _ask(two, "Oslo tram strike")
            if any(c["article_id"] == "oslo-tram" for c in by_keyword["citations"]):
                break
            assert time.monotonic() < deadline, by_keyword
            time.sleep(0.5)
        by_meaning = _ask(two, "When did the drivers accept the pay offer?")
        assert by_meaning["citations"][0]["article_id"] == "oslo-tram"
        assert "Friday" in by_meaning["answer"]
        for url in (one, two):  # both answer the same
            answer = _ask(url, "Where are remaining IS cells?")
            assert "Badia desert" in answer["answer"]
