#!/usr/bin/env bash
# The fixture models (tools/make_test_fixtures.py) hold what they claim: every
# manifest entry read back with the reference Python readers equals its source
# weights (tools/check_fixtures.py); a corrupted copy is caught; the generator
# rejects impossible shapes with a message.
set -u
fail() { echo "test_fixtures: FAIL: $*" >&2; exit 1; }
SRC=${TPLM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
FIX=${TPLM_BINARY_DIR:+$TPLM_BINARY_DIR/fixtures}
python3 -c "import gguf, safetensors, sentencepiece, numpy" 2>/dev/null ||
  { echo "test_fixtures: skipped: python packages gguf/safetensors/sentencepiece missing"; exit 77; }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
if [[ -z "$FIX" || ! -f "$FIX/manifest.json" ]]; then
  FIX=$TMP/fixtures
  python3 "$SRC/tools/make_test_fixtures.py" "$FIX" || fail "make_test_fixtures.py failed"
fi
python3 "$SRC/tools/check_fixtures.py" "$FIX" || fail "check_fixtures on $FIX"

# A copy with one byte of one weight changed must be caught.
mkdir -p "$TMP/bad"
cp -r "$FIX"/manifest.json "$FIX"/*.gguf "$FIX"/*.bin "$FIX"/*-hf* "$TMP/bad/"
python3 - "$TMP/bad/gqa.Q8_0.gguf" <<'PY'
import sys
p = sys.argv[1]
data = bytearray(open(p, "rb").read())
data[-100] ^= 0x40
open(p, "wb").write(data)
PY
out=$(python3 "$SRC/tools/check_fixtures.py" "$TMP/bad" 2>&1) && fail "a corrupted gqa.Q8_0.gguf passed the check"
grep -q "gqa.Q8_0.gguf" <<<"$out" || fail "the check did not name the corrupted file: $out"

# Impossible shapes are refused with a message, not a traceback.
out=$(python3 "$SRC/tools/gen_fixture.py" "$TMP/x" --dim 100 --heads 8 2>&1) && fail "dim 100 / 8 heads accepted"
grep -q "not a multiple of heads" <<<"$out" || fail "unclear message: $out"
out=$(python3 "$SRC/tools/gen_fixture.py" "$TMP/x" --formats gguf:Q2_K 2>&1) && fail "gguf:Q2_K accepted"
grep -q "bad format" <<<"$out" || fail "unclear message: $out"
echo "test_fixtures: all passed"
