#!/usr/bin/env bash
# Fresh machine to chat: install, index seeds/ (incremental, so reruns are instant),
# then open the chat at http://127.0.0.1:7860 .
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False ANONYMIZED_TELEMETRY=False
.venv/bin/newsqa ingest seeds/
exec .venv/bin/newsqa serve "$@"
