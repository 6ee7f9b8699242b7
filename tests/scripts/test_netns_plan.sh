#!/usr/bin/env bash
# Issue 10: `tplm plan` under mpirun across 2 namespace hosts (tests/scripts/lib/netns.sh:
# TCP over veths into a bridge) measures each host's read bandwidth and the
# link, and predicts decode at tp 1 and tp 2. With every host's veth shaped to
# 10 Mbit/s (tc tbf, as tools/measure_link_rates.sh) the exchanges dominate and
# the plan must warn that tp 2 is predicted slower than tp 1; unshaped, tp 2
# reads half the weights per host and must not be called slower.
# Skipped (77) where namespaces or mpirun are unavailable.
set -u
source "$(dirname "$0")/lib/mpi.sh"
source "$(dirname "$0")/lib/netns.sh"
require_mpirun
TPLM_EXE=${TPLM_EXE:-$TPLM_BINARY_DIR/tplm}
[[ -x $TPLM_EXE ]] || skip "$TPLM_EXE not built"
command -v tc >/dev/null 2>&1 || skip "tc (iproute2) not found: cannot shape the link"
netns_require

# 4 layers of dim 1536, FFN 2048, in F32 (~300 MB; plan reads only its header).
# Per layer, tp 1 reads C = 75 MB (about 7 ms at 10 GB/s) and tp 2 reads half
# and makes 2 exchanges of 6 KB (e each): tp 2 is slower iff e > C / 4. The
# veths unshaped give e of 0.1-0.5 ms on a busy machine, 10 Mbit/s about 10 ms,
# so both verdicts hold for read bandwidths from 5 to 20 GB/s.
work=$(mktemp -d /tmp/tplm-netns-plan.XXXXXX)
trap 'rm -rf "$work"; netns_down' EXIT
python3 "$TPLM_SOURCE_DIR/tools/gen_fixture.py" "$work/m" --dim 1536 --ffn 2048 --layers 4 \
  --heads 16 --vocab 512 --context 256 --fast --formats gguf:F32 >/dev/null 2>&1 ||
  fail "gen_fixture"
MODEL=$work/m.F32.gguf

netns_up 2
shape() {  # shape RATE BURST: every host's veth, or "none" to remove the shaping
  local i
  for ((i = 0; i < 2; i++)); do
    ip netns exec "tplm-h$i" tc qdisc del dev eth0 root 2>/dev/null
    [[ $1 == none ]] ||
      ip netns exec "tplm-h$i" tc qdisc add dev eth0 root tbf rate "$1" burst "$2" latency 50ms ||
      fail "tc on tplm-h$i"
  done
}
plan() {
  NETNS_MPIRUN_TIMEOUT=120 netns_mpirun "$TPLM_EXE" plan -m "$MODEL" --tp 2 2>&1
}

shape 10mbit 16kb
slow=$(plan)
rc=$?
echo "--- 10mbit:"
echo "$slow"
[[ $rc -eq 0 ]] || fail "10mbit: plan exit $rc"
grep -q "speed: measured in .* tp 2 over MPI" <<<"$slow" || fail "10mbit: no measured MPI link"
grep -q "^advice: on this link the exchanges would take [0-9]*% of each token; tp 2 is predicted slower than tp 1" <<<"$slow" ||
  fail "10mbit: no warning that tp 2 is slower than tp 1"
[[ $(grep -c "^model: " <<<"$slow") -eq 1 ]] || fail "10mbit: more than rank 0 printed"

shape none
fast=$(plan)
rc=$?
echo "--- unshaped:"
echo "$fast"
[[ $rc -eq 0 ]] || fail "unshaped: plan exit $rc"
grep -q "^\*    2 " <<<"$fast" || fail "unshaped: no row for tp 2"
grep -q "slower than tp 1\|tp 1 is predicted" <<<"$fast" &&
  fail "unshaped: the plan says tp 1 is faster"
netns_down
expect_no_leftovers "$MODEL"
echo "test_netns_plan: all passed"
