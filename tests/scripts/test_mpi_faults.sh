#!/usr/bin/env bash
# Faults end cleanly: with a 5 s collective timeout, a rank killed mid-run
# (SIGKILL, like kill -9) and a rank that never arrives at a collective must
# end the whole world within the timeout (plus slack), with a message naming
# the rank and the cause, a non-zero exit, and no process left behind.
set -u
source "$(dirname "$0")/lib/mpi.sh"
source "$(dirname "$0")/lib/timing.sh"
require_mpirun
require_check_exe

drill() {
  local name=$1 expect=$2; shift 2
  local t0 out rc secs
  t0=$(now_ns)
  out=$(timeout 60 mpirun --oversubscribe -np 4 "$CHECK_EXE" --timeout 5 "$@" 2>&1)
  rc=$?
  secs=$(seconds_since "$t0")
  echo "--- $name: exit $rc after ${secs}s"
  echo "$out" | grep -E "rank|Killed" | head -6
  [[ $rc -ne 0 ]] || fail "$name: exit status 0"
  [[ $rc -ne 124 ]] || fail "$name: still running after 60 s (the timeout did not fire)"
  under_seconds "$t0" 20 || fail "$name: took ${secs}s, more than timeout 5 s + 15 s slack"
  echo "$out" | grep -qE "$expect" || fail "$name: no message matching '$expect'"
  expect_no_leftovers "$CHECK_EXE"
}

# A peer that never arrives: the others time out, name themselves and the cause.
drill stall "rank [0-9]: the all-reduce did not complete within 5 s: a peer died or the link is down" \
  --stall-rank 2
# A rank killed mid-run: mpirun sees the death and ends the rest, naming the rank.
drill kill9 "rank 1 .*(exited on signal 9|Killed)|rank [0-9]: the .* did not complete within 5 s" \
  --die-rank 1
echo "test_mpi_faults: all passed"
