"""Opt-in: the real SmolLM2-135M behind llama-cpp-python's OpenAI-compatible server
answers the seed question end to end (`scripts/test.sh --llm`, or NEWSQA_TEST_LLM=1).

It asserts the contract, not the model's wisdom: every citation is verbatim at its
offsets, and the answer is the LLM's or an extractive fallback that says why. The first
run compiles llama-cpp-python (~810 CPU-seconds, scripts/llm-server.sh); the test is
skipped, with the reason, when that cannot be done."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from assistant.service import Assistant
from tests.conftest import ROOT, free_port

pytestmark = [
    pytest.mark.llm,
    pytest.mark.skipif(os.environ.get("NEWSQA_TEST_LLM") != "1",
                       reason="opt-in real-model test: run scripts/test.sh --llm "
                              "(or set NEWSQA_TEST_LLM=1)"),
]
SCRIPT = ROOT / "scripts" / "llm-server.sh"


@pytest.fixture(scope="module")
def llm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    build = subprocess.run(["bash", str(SCRIPT), "--build-only"], capture_output=True,
                           text=True, timeout=3600)
    if build.returncode != 0:
        tail = " ".join((build.stderr or build.stdout).split()[-40:])
        pytest.skip(f"the llama-cpp-python server could not be built: {tail}")
    port = free_port()
    # The server logs every request: to a file, since an unread pipe fills and blocks it.
    log = tmp_path_factory.mktemp("llm-server") / "server.log"
    server = subprocess.Popen(["bash", str(SCRIPT), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/models", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    err = log.read_text(errors="replace")[-400:]
                    pytest.skip(f"the SmolLM2 server did not start: {err}")
                time.sleep(1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_seed_question_end_to_end_with_the_real_model(seed_bot: Assistant,
                                                      llm_url: str) -> None:
    llm = seed_bot.settings.answer.llm
    llm.url, llm.model, llm.max_tokens, llm.timeout_s = llm_url, "smollm2", 96, 300
    llm.max_passages = 2
    tokens: list[str] = []
    answer = seed_bot.ask("Where are remaining IS cells?", llm=True, on_token=tokens.append)
    assert answer.answerer in ("llm", "extractive-fallback")
    if answer.answerer == "extractive-fallback":
        assert answer.fallback_reason
    else:
        assert tokens and answer.citations and answer.quote_checks
    assert answer.citations, "some quote must back the answer, the LLM's or the fallback's"
    for c in answer.citations:
        article = seed_bot.article(c.article_id)
        assert article is not None and article.text[c.start:c.end] == c.quote
    if answer.short_answer is not None:
        s = answer.short_answer
        article = seed_bot.article(s.article_id)
        assert article is not None and article.text[s.start:s.end] == s.text
