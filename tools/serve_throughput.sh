#!/usr/bin/env bash
# Throughput of tplm serve: 16 concurrent streams vs one stream, at tp 1 and
# tp 2, interleaved over ROUNDS rounds (docs/performance.md, "Serving").
#   tools/serve_throughput.sh MODEL [ROUNDS] [TOKENS]
# Prints each load_test.py result as JSON, the server's step/exchange seconds
# from /metrics, and per tp the medians over the rounds and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: tools/serve_throughput.sh MODEL [ROUNDS] [TOKENS]}
ROUNDS=${2:-2}
TOKENS=${3:-64}
TPLM=${TPLM_EXE:-build/tplm}
PORT=${PORT:-8411}
LOG=$(mktemp)
RESULTS=$(mktemp)
trap 'rm -f "$LOG" "$RESULTS"' EXIT
for round in $(seq "$ROUNDS"); do
  for tp in 1 2; do
    "$TPLM" serve -m "$MODEL" --tp "$tp" --slots 16 --port "$PORT" -c 512 >"$LOG" 2>&1 &
    srv=$!
    for _ in $(seq 300); do grep -q listening "$LOG" && break; sleep 0.2; done
    grep -q listening "$LOG" || { cat "$LOG"; kill "$srv"; exit 1; }
    url=http://127.0.0.1:$PORT
    echo "round $round tp $tp one: $(python3 tools/load_test.py --url "$url" --requests 3 \
      --concurrency 1 --max-tokens "$TOKENS" --stream-every 0 --json)" | tee -a "$RESULTS"
    echo "round $round tp $tp sixteen: $(python3 tools/load_test.py --url "$url" --requests 32 \
      --concurrency 16 --max-tokens "$TOKENS" --stream-every 0 --json)" | tee -a "$RESULTS"
    curl -s "$url/metrics" | grep -E "^tplm_(step|exchange)" | sed "s/^/round $round tp $tp /"
    kill "$srv"
    wait "$srv" || true
  done
done
python3 - "$RESULTS" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    head, _, body = line.partition(": ")
    words = head.split()  # round R tp N one|sixteen
    runs.setdefault((int(words[3]), words[4]), []).append(json.loads(body)["tokens_per_s"])
for tp in sorted({tp for tp, _ in runs}):
    one, sixteen = runs[(tp, "one")], runs[(tp, "sixteen")]
    print(f"tp {tp}: one stream median {statistics.median(one):.1f} tok/s "
          f"(min {min(one):.1f}, max {max(one):.1f}), 16 streams median "
          f"{statistics.median(sixteen):.1f} (min {min(sixteen):.1f}, max {max(sixteen):.1f}), "
          f"ratio of medians {statistics.median(sixteen) / statistics.median(one):.2f}")
PY
