#!/usr/bin/env bash
# tplm serve against llama.cpp's server (llama-cpp-python[server] from PyPI) on
# the same GGUF file, the same threads and the same concurrency, interleaved
# over ROUNDS rounds (docs/performance.md, "Serving").
#   tools/serve_vs_llamacpp.sh MODEL [ROUNDS] [TOKENS] [THREADS]
# Prints one line per run: server, concurrency, and load_test.py's JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: tools/serve_vs_llamacpp.sh MODEL [ROUNDS] [TOKENS] [THREADS]}
ROUNDS=${2:-2}
TOKENS=${3:-32}
THREADS=${4:-2}
TPLM=${TPLM_EXE:-build/tplm}
PORT=${PORT:-8412}
python3 -c "import llama_cpp.server" 2>/dev/null ||
  { echo "llama-cpp-python[server] is missing: pip install 'llama-cpp-python[server]'"; exit 1; }
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

start() {  # NAME: starts that server on $PORT, waits until it answers
  case $1 in
    tplm) "$TPLM" serve -m "$MODEL" --tp 1 --threads "$THREADS" --slots 16 --port "$PORT" -c 512 \
      >"$LOG" 2>&1 & ;;
    llama.cpp) python3 -m llama_cpp.server --model "$MODEL" --n_threads "$THREADS" \
      --n_threads_batch "$THREADS" --n_ctx 8192 --port "$PORT" >"$LOG" 2>&1 & ;;
  esac
  srv=$!
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$LOG"
  kill "$srv"
  exit 1
}

for round in $(seq "$ROUNDS"); do
  for name in tplm llama.cpp; do
    start "$name"
    for c in 1 16; do
      n=$((c == 1 ? 2 : c))
      echo "round $round $name concurrency $c: $(python3 tools/load_test.py \
        --url "http://127.0.0.1:$PORT" --requests "$n" --concurrency "$c" --max-tokens "$TOKENS" \
        --stream-every 0 --json)"
    done
    kill "$srv"
    wait "$srv" 2>/dev/null || true
  done
done
