#!/usr/bin/env bash
# tplm serve over HTTP on stories260K (tests/scripts/serve_check.py http):
# 16 concurrent greedy streams each equal `tplm run` alone; every bad request
# gets its 4xx while other streams finish correctly; a client that drops
# mid-stream frees its slot (/metrics); a full server answers 429.
set -u
source "$(dirname "$0")/lib/mpi.sh"  # skip, fail
TPLM_EXE=${TPLM_EXE:-$TPLM_BINARY_DIR/tplm}
[[ -x $TPLM_EXE ]] || skip "$TPLM_EXE not built"
MODEL_DIR=${TPLM_MODEL_DIR:-/work/shared/models/stories260K}
[[ -f $MODEL_DIR/stories260K.bin ]] || skip "stories260K not found in $MODEL_DIR"
timeout 300 python3 "$(dirname "$0")/serve_check.py" http "$TPLM_EXE" \
  "$MODEL_DIR/stories260K.bin" "$MODEL_DIR/tok512.bin"
