"""End to end with the real model: `newsqa serve --api-token` in its own process, the seed
pushed with `newsqa push`, asked through `POST /api/ask`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SEEDS, free_port
from tests.serving import serving

TOKEN = "e2e-token"


@pytest.mark.integration
def test_push_the_seed_to_a_running_server_then_ask_it(
        tmp_path: Path, model_home: Path, real_embedder: object) -> None:
    home = tmp_path / "home"
    shutil.copytree(model_home / "models", home / "models")  # the ONNX export, made once
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_")}
    env.update(NEWSQA_HOME=str(home), NEWSQA_SERVE__API_TOKEN=TOKEN, HF_HUB_OFFLINE="1",
               GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    newsqa = [sys.executable, "-m", "ui.cli"]
    port = free_port()
    log = tmp_path / "serve.log"
    with serving([*newsqa, "serve", "--port", str(port)], f"http://127.0.0.1:{port}/api/health",
                 log, ROOT, env, 180):
        url = f"http://127.0.0.1:{port}"
        pushed = subprocess.run([*newsqa, "push", str(SEEDS), "--url", url], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=600)
        assert pushed.returncode == 0, pushed.stderr
        assert " added, 0 updated, 0 unchanged;" in pushed.stdout
        health = httpx.get(url + "/api/health", headers={"Authorization": f"Bearer {TOKEN}"},
                           timeout=30).json()
        assert health["status"] == "ok" and health["articles"] >= 1
        assert health["embedding_model"] == "all-MiniLM-L6-v2@onnx-int8"
        r = httpx.post(url + "/api/ask", json={"question": "Where are remaining IS cells?"},
                       headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
        assert r.status_code == 200
        answer = r.json()
        assert "Badia desert" in answer["answer"] and answer["citations"]
        assert httpx.post(url + "/api/ask", json={"question": "Where?"},
                          timeout=30).status_code == 401
    printed = log.read_text().splitlines()
    assert printed[0].startswith(f"newsqa: chat at http://127.0.0.1:{port}/")
    assert printed[1].startswith("newsqa: index: empty")
    assert printed[2] == ("newsqa: auth: API token required; the chat has no login (add --auth "
                          "USER:PASSWORD or NEWSQA_SERVE__USERS_FILE)")
    assert not any("share" in line or "Running on" in line for line in printed)
