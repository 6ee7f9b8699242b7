#!/usr/bin/env bash
# A batched step under mpirun -np 2 (each process one rank; rank 0 sends each
# step's rows on the control channel) gives each sequence what it gets alone:
# the gtest BatchedStep.UnderMpirun* run as two MPI processes.
set -u
source "$(dirname "$0")/lib/mpi.sh"
require_mpirun
TEST_EXE=$TPLM_BINARY_DIR/test_runtime
[[ -x $TEST_EXE ]] || skip "$TEST_EXE not built"
[[ -x $TPLM_BINARY_DIR/mpi_collectives_check ]] || skip "this build has no MPI"
[[ -f $TPLM_BINARY_DIR/fixtures/manifest.json ]] || skip "no fixtures (tools/make_test_fixtures.py)"

out=$(timeout 300 mpirun --oversubscribe -np 2 "$TEST_EXE" \
  --gtest_color=no --gtest_filter='BatchedStep.UnderMpirun*' 2>&1)
rc=$?
echo "$out"
[[ $rc -eq 0 ]] || fail "mpirun -np 2 test_runtime exited $rc"
grep -q "SKIPPED" <<<"$out" && fail "the test skipped itself under mpirun"
[[ $(grep -c "\[  PASSED  \] 1 test" <<<"$out") -eq 2 ]] || fail "both ranks must pass the test"
expect_no_leftovers "test_runtime --gtest_filter=BatchedStep"
echo "test_mpi_batched: all passed"
