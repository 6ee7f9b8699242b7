#!/usr/bin/env bash
# Predicted against measured decode (issue 10): `tplm bench` prints the
# prediction it made before loading (the read bandwidth of rank 0's device and
# the link, measured) beside the decode speed it measures. This runs it for
# tp 1 and tp 2 as threads and, as root where network namespaces can be made,
# for tp 2 across 2 namespace hosts (mpirun over TCP, tests/scripts/lib/netns.sh),
# REPS times interleaved, and prints one markdown row per case: medians and
# the spread (min-max) of the predicted and measured tokens/s and their ratio.
# NOT run by ctest.
#
#   tools/predict_vs_measure.sh BUILD_DIR MODEL [REPS=5]
set -u
BUILD=${1:?usage: tools/predict_vs_measure.sh BUILD_DIR MODEL [REPS]}
MODEL=${2:?usage: tools/predict_vs_measure.sh BUILD_DIR MODEL [REPS]}
REPS=${3:-5}
TPLM_BINARY_DIR=$(cd "$BUILD" && pwd)
TPLM_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
export TPLM_BINARY_DIR TPLM_SOURCE_DIR
TPLM=$TPLM_BINARY_DIR/tplm
BENCH=(bench -m "$MODEL" --prompt-tokens 16 --gen-tokens "${GEN_TOKENS:-32}")
source "$TPLM_SOURCE_DIR/tests/scripts/lib/mpi.sh"
source "$TPLM_SOURCE_DIR/tests/scripts/lib/netns.sh"

cases=("threads tp 1" "threads tp 2")
hosts=0
if command -v mpirun >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]] &&
  ip netns add tplm-probe$$ 2>/dev/null; then
  ip netns del tplm-probe$$
  netns_require  # takes the namespace lock (waits for another namespace test)
  netns_up 2 && hosts=1 && cases+=("2 hosts tp 2")
fi
[[ $hosts -eq 1 ]] || echo "(no namespace hosts here: root and mpirun needed; threads only)" >&2

# "predicted decode: P tokens/s ...; measured M tokens/s = R x the prediction"
one_run() {
  local out
  case $1 in
    "threads tp 1") out=$("$TPLM" "${BENCH[@]}" --tp 1 2>/dev/null) ;;
    "threads tp 2") out=$("$TPLM" "${BENCH[@]}" --tp 2 2>/dev/null) ;;
    "2 hosts tp 2") out=$(NETNS_MPIRUN_TIMEOUT=300 netns_mpirun "$TPLM" "${BENCH[@]}" --threads 2 2>/dev/null) ;;
  esac
  sed -nE 's/^predicted decode: ([0-9.]+) tokens\/s.*measured ([0-9.]+) tokens\/s = ([0-9.]+) x.*/\1 \2 \3/p' <<<"$out"
}

declare -A runs
for ((r = 0; r < REPS; r++)); do
  for c in "${cases[@]}"; do
    line=$(one_run "$c")
    [[ -n $line ]] || { echo "no prediction line for '$c'" >&2; continue; }
    runs[$c]+="$line"$'\n'
  done
done

echo "| case | runs | predicted tok/s (median, min-max) | measured tok/s (median, min-max) | measured / predicted (median, min-max) |"
echo "| --- | --- | --- | --- | --- |"
# Median and spread of each column of "P M R" lines on stdin.
summary='
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
if not rows:
    print(f"| {sys.argv[1]} | 0 | - | - | - |"); sys.exit()
def col(i, d):
    v = [r[i] for r in rows]
    return f"{statistics.median(v):.{d}f} ({min(v):.{d}f}-{max(v):.{d}f})"
print(f"| {sys.argv[1]} | {len(rows)} | {col(0, 1)} | {col(1, 1)} | {col(2, 2)} |")
'
for c in "${cases[@]}"; do
  python3 -c "$summary" "$c" <<<"${runs[$c]:-}"
done
[[ $hosts -eq 1 ]] && netns_down
exit 0
