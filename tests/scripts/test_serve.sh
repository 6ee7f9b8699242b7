#!/usr/bin/env bash
# tplm serve over HTTP on stories260K (tests/scripts/serve_check.py http):
# 16 concurrent greedy streams each equal `tplm run` alone; every bad request
# gets its 4xx while other streams finish correctly; a client that drops
# mid-stream frees its slot (/metrics); a full server answers 429.
set -u
source "$(dirname "$0")/lib/mpi.sh"  # skip, fail
require_tplm
require_stories260k
timeout 300 python3 "$(dirname "$0")/serve_check.py" http "$TPLM_EXE" \
  "$MODEL_DIR/stories260K.bin" "$MODEL_DIR/tok512.bin"
