#!/usr/bin/env bash
# Decode speed of `tplm bench` across namespace "hosts" (tests/scripts/lib/netns.sh:
# one veth per host into a bridge, TCP only) with each host's veth shaped by
#   tc qdisc add dev eth0 root tbf rate R burst B latency L
# (netem is not available here, so only the rate is shaped, no delay).
# Prints one markdown row per (link, tp): tokens/s, per-token exchange share,
# bytes rank 0 sent per token. Needs root. NOT run by ctest.
#
#   tools/measure_link_rates.sh BUILD_DIR [TP ...]      (default TP: 2)
# Model: random dim 1024, 8 layers, FFN 2048, vocab 512 Q8_0 GGUF (~86 MiB),
# made by tools/gen_fixture.py into a temp dir.
set -u
BUILD=${1:?usage: tools/measure_link_rates.sh BUILD_DIR [TP ...]}
shift
TPS=("${@:-2}")
TPLM_BINARY_DIR=$(cd "$BUILD" && pwd)
TPLM_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
export TPLM_BINARY_DIR TPLM_SOURCE_DIR
source "$TPLM_SOURCE_DIR/tests/scripts/lib/mpi.sh"
source "$TPLM_SOURCE_DIR/tests/scripts/lib/netns.sh"
require_mpirun
netns_require
work=$(mktemp -d /tmp/tplm-link-rates.XXXXXX)
MODEL=$work/m.Q8_0.gguf
python3 "$TPLM_SOURCE_DIR/tools/gen_fixture.py" "$work/m" --dim 1024 --ffn 2048 --layers 8 \
  --heads 16 --vocab 512 --context 512 --formats gguf:Q8_0 >/dev/null 2>&1 || fail "gen_fixture"
GEN=${GEN_TOKENS:-64}

# rate burst latency per link (burst >= rate / HZ; 10gbit needs a big bucket).
LINKS=("none - -" "10gbit 4mb 50ms" "1gbit 512kb 50ms" "100mbit 64kb 50ms" "10mbit 16kb 50ms")

echo "| link | tp | decode tokens/s | ms/token | exchange ms/token | compute ms/token | exchange share | bytes/token (rank 0 sent) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for tp in "${TPS[@]}"; do
  netns_up "$tp"
  # One unmeasured run first: page cache and first-touch costs out of row 1.
  NETNS_MPIRUN_TIMEOUT=300 netns_mpirun "$TPLM_BINARY_DIR/tplm" bench -m "$MODEL" \
    --prompt-tokens 16 --gen-tokens 8 --threads 1 >/dev/null 2>&1
  for link in "${LINKS[@]}"; do
    read -r rate burst lat <<<"$link"
    for ((i = 0; i < tp; i++)); do
      ip netns exec "tplm-h$i" tc qdisc del dev eth0 root 2>/dev/null
      [[ $rate == none ]] ||
        ip netns exec "tplm-h$i" tc qdisc add dev eth0 root tbf rate "$rate" burst "$burst" latency "$lat" ||
        fail "tc on tplm-h$i"
    done
    out=$(NETNS_MPIRUN_TIMEOUT=300 netns_mpirun "$TPLM_BINARY_DIR/tplm" bench -m "$MODEL" \
      --prompt-tokens 16 --gen-tokens "$GEN" --threads 1 2>&1)
    tps=$(sed -n 's/^decode: .*= \([0-9.]*\) tokens\/s/\1/p' <<<"$out")
    per=$(grep "^decode per token" <<<"$out")
    # decode per token: T ms = exchange E ms (S%) + compute C ms; rank 0 sent B bytes/token
    read -r t e s c b < <(sed -E 's/.*: ([0-9.]+) ms = exchange ([0-9.]+) ms \(([0-9.]+)%\) \+ compute ([0-9.]+) ms; rank 0 sent ([0-9]+) bytes.*/\1 \2 \3 \4 \5/' <<<"$per")
    [[ -n $per ]] || { echo "$out" >&2; fail "no figures for link $rate tp $tp"; }
    echo "| ${rate/none/unshaped veth} | $tp | $tps | $t | $e | $c | $s% | $b |"
  done
  netns_down
done
rm -rf "$work"
