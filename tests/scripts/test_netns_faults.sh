#!/usr/bin/env bash
# A link that goes down: 3 namespace hosts all-reduce in a loop with a 5 s
# timeout; after 2 s host 2's cable is pulled (its switch port set down).
# Every rank must end within the timeout (plus slack) with a message naming a
# rank and the cause, mpirun must exit non-zero, and no rank may be left.
set -u
source "$(dirname "$0")/lib/mpi.sh"
source "$(dirname "$0")/lib/timing.sh"
source "$(dirname "$0")/lib/netns.sh"
require_mpirun
require_check_exe
netns_require
netns_up 3

out_file=$(mktemp /tmp/tplm-netns-faults.XXXXXX)
t0=$(now_ns)
NETNS_MPIRUN_TIMEOUT=60 netns_mpirun "$CHECK_EXE" --timeout 5 --loop-seconds 30 >"$out_file" 2>&1 &
pid=$!
sleep 2
netns_link_down 2
wait $pid
rc=$?
secs=$(seconds_since "$t0")
grep -E "rank|abort" "$out_file" | head -8
echo "link down: mpirun exit $rc after ${secs}s"
[[ $rc -ne 0 ]] || fail "link down: exit status 0 (the run should have failed)"
[[ $rc -ne 124 ]] || fail "link down: still running after 60 s"
grep -qE "rank [0-9]: the (all-reduce|broadcast) did not complete within 5 s" "$out_file" ||
  fail "link down: no rank named the timeout"
# Ranks must be gone before netns_down kills whatever is left.
sleep 2
left=$(pgrep -a -f -- "$CHECK_EXE" || true)
[[ -z $left ]] || fail "link down: ranks left behind: $left"
rm -f "$out_file"
echo "test_netns_faults: all passed"
