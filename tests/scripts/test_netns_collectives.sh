#!/usr/bin/env bash
# The MPI self-check across 2 and 4 real hosts (network namespaces joined by a
# bridge, 10.77.0.0/24, TCP only). Skipped (77) where namespaces cannot be made.
set -u
source "$(dirname "$0")/lib/mpi.sh"
source "$(dirname "$0")/lib/netns.sh"
require_mpirun
require_check_exe
netns_require

for k in 2 4; do
  netns_up "$k"
  out=$(netns_mpirun "$CHECK_EXE" --bench-bytes 4096 2>&1)
  rc=$?
  echo "$out"
  [[ $rc -eq 0 ]] || fail "$k hosts: exit $rc"
  echo "$out" | grep -q "mpi_collectives_check: $k ranks: [0-9]* passed, 0 failed" ||
    fail "$k hosts: no '0 failed' summary"
  netns_down
done
expect_no_leftovers "$CHECK_EXE"
echo "test_netns_collectives: all passed"
