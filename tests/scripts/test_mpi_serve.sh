#!/usr/bin/env bash
# tplm serve under mpirun -np 2: rank 0 serves HTTP, rank 1 follows its step
# descriptors; concurrent greedy streams equal `mpirun -np 2 tplm run` alone.
set -u
source "$(dirname "$0")/lib/mpi.sh"
require_mpirun
TPLM_EXE=${TPLM_EXE:-$TPLM_BINARY_DIR/tplm}
[[ -x $TPLM_EXE ]] || skip "$TPLM_EXE not built"
[[ -x $TPLM_BINARY_DIR/mpi_collectives_check ]] || skip "this tplm was built without MPI"
MODEL_DIR=${TPLM_MODEL_DIR:-/work/shared/models/stories260K}
[[ -f $MODEL_DIR/stories260K.bin ]] || skip "stories260K not found in $MODEL_DIR"
timeout 300 python3 "$(dirname "$0")/serve_check.py" mpi "$TPLM_EXE" \
  "$MODEL_DIR/stories260K.bin" "$MODEL_DIR/tok512.bin" || fail "serve_check.py mpi"
expect_no_leftovers "$TPLM_EXE serve"
echo "test_mpi_serve: all passed"
