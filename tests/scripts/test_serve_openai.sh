#!/usr/bin/env bash
# The official openai Python client (tools/requirements.txt) against tplm
# serve, unchanged: completions and chat, streaming and not, and its errors.
set -u
source "$(dirname "$0")/lib/mpi.sh"  # skip, fail
require_tplm
require_stories260k
python3 -c "import openai" 2>/dev/null || skip "the openai package is missing (pip install -r tools/requirements.txt)"
# Chat on the fixture with a chat template (tools/make_test_fixtures.py).
CHAT_MODEL=$TPLM_BINARY_DIR/fixtures/chat.F32.gguf
[[ -f $CHAT_MODEL ]] || fail "no $CHAT_MODEL (tools/make_test_fixtures.py)"
[[ ${TPLM_HAVE_JINJA:-OFF} == ON ]] || skip "tplm was built without chat templates (cmake/llama_jinja.cmake: offline at configure)"
timeout 300 python3 "$(dirname "$0")/serve_check.py" openai "$TPLM_EXE" \
  "$MODEL_DIR/stories260K.bin" "$MODEL_DIR/tok512.bin" "$CHAT_MODEL"
