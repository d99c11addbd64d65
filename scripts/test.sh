#!/usr/bin/env bash
# Fresh machine to test results: install everything (Debian chromium for the browser
# test too), lint (ruff, mypy), then run the whole suite offline. Extra arguments go to
# pytest.
# --llm (first argument) also runs the opt-in real-model test: it builds and starts the
# SmolLM2 server (scripts/llm-server.sh; the first build compiles llama.cpp for minutes).
set -euo pipefail
if [ "${1:-}" = "--llm" ]; then
  shift
  export NEWSQA_TEST_LLM=1
fi
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
fi
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False ANONYMIZED_TELEMETRY=False
.venv/bin/ruff check .
.venv/bin/mypy  # its files (assistant, index, ui) are set in pyproject.toml
.venv/bin/python -m pytest -q "$@"
