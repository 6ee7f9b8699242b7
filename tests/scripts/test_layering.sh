#!/usr/bin/env bash
# The layering of DESIGN.md holds on src/, and the check catches what it must:
# an include of a part above (model/ including runtime/) and a concrete
# backend outside backend/ (runtime/ including backend/cpu/), planted in a copy.
set -euo pipefail
SRC_DIR=${TPLM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CHECK="$SRC_DIR/tools/check_layering.py"
python3 "$CHECK" "$SRC_DIR/src"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$SRC_DIR/src" "$tmp/src"
expect_violation() {  # FILE LINE_TEXT WANTED_MESSAGE
  cp -r "$SRC_DIR/src/." "$tmp/src/"
  echo "$2" >>"$tmp/src/$1"
  if out=$(python3 "$CHECK" "$tmp/src"); then
    echo "FAIL: planting '$2' in $1 was not caught"
    exit 1
  fi
  if ! grep -qF "$3" <<<"$out"; then
    echo "FAIL: planting '$2' in $1 gave: $out"
    exit 1
  fi
  echo "caught: $out"
  cp "$SRC_DIR/src/$1" "$tmp/src/$1"
}
expect_violation model/transformer.cpp '#include "runtime/engine.hpp"' \
  'model/transformer.cpp:'
expect_violation format/model_file.cpp '#include "parallel/plan.hpp"' 'a part above it'
expect_violation runtime/engine.cpp '#include "backend/cpu/cpu_backend.hpp"' \
  'includes the concrete backend "backend/cpu/cpu_backend.hpp"'
echo "test_layering: ok"
