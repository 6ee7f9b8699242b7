#!/usr/bin/env bash
# Gets stories260K (stories260K.bin + tok512.bin, sha256 checked) into DEST
# (default: models/stories260K): from ../shared when it is there, else from
# the Hugging Face hub (or TPLM_MODEL_BASE_URL). See tools/get_model.py.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
exec python3 "$ROOT/tools/get_model.py" "${1:-$ROOT/models/stories260K}"
