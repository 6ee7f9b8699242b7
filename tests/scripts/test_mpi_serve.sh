#!/usr/bin/env bash
# tplm serve under mpirun -np 2: rank 0 serves HTTP, rank 1 follows its step
# descriptors; concurrent greedy streams equal `mpirun -np 2 tplm run` alone.
set -u
source "$(dirname "$0")/lib/mpi.sh"
require_mpirun
require_tplm
require_check_exe  # built only with MPI
require_stories260k
timeout 300 python3 "$(dirname "$0")/serve_check.py" mpi "$TPLM_EXE" \
  "$MODEL_DIR/stories260K.bin" "$MODEL_DIR/tok512.bin" || fail "serve_check.py mpi"
expect_no_leftovers "$TPLM_EXE serve"
echo "test_mpi_serve: all passed"
