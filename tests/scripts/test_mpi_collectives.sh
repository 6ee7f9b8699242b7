#!/usr/bin/env bash
# The MPI communicator against a serial reference at 1, 2, 4 and 8 processes
# (shared-memory transport, then TCP over loopback). Every mpirun is bounded.
set -u
source "$(dirname "$0")/lib/mpi.sh"
require_mpirun
require_check_exe

run_np() {
  local np=$1; shift
  local out
  out=$(timeout 120 mpirun --oversubscribe -np "$np" "$@" "$CHECK_EXE" 2>&1)
  local rc=$?
  echo "$out" | grep -v '^$'
  [[ $rc -eq 0 ]] || fail "np=$np $*: exit $rc"
  echo "$out" | grep -q "mpi_collectives_check: $np ranks: [0-9]* passed, 0 failed" ||
    fail "np=$np $*: no '0 failed' summary"
}

for np in 1 2 4 8; do run_np "$np"; done
# Bytes over TCP (loopback only) instead of shared memory.
for np in 2 4; do run_np "$np" --mca btl tcp,self --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo; done
expect_no_leftovers "$CHECK_EXE"
echo "test_mpi_collectives: all passed"
