#!/usr/bin/env bash
# Packs what scripts/gpu_check.sh needs on a GPU machine that has no network
# and lacks some of tplm's dependencies, into gpu-carry/ (git-ignored, about
# 60 MB): the PCRE2 headers (.deb), the Python packages gguf, pyyaml and numpy
# (wheels for the machine's Python, 3.12 by default), ../shared's stories260K
# model and goldens, and this machine's test fixtures (BUILD/fixtures).
#   scripts/gpu_carry.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PY=${GPU_PYTHON_VERSION:-3.12}
CARRY=gpu-carry
rm -rf "$CARRY"
mkdir -p "$CARRY/debs" "$CARRY/wheels" "$CARRY/shared/models" "$CARRY/shared/golden"
(cd "$CARRY/debs" && apt-get download libpcre2-dev >/dev/null)
python3 -m pip download -q --no-deps -d "$CARRY/wheels" gguf==0.19.0
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PY" \
  --platform manylinux2014_x86_64 -d "$CARRY/wheels" pyyaml numpy
cp -r ../shared/models/stories260K "$CARRY/shared/models/"
cp -r ../shared/golden/stories260K "$CARRY/shared/golden/"
[[ -f $BUILD/fixtures/manifest.json ]] || { echo "no $BUILD/fixtures: run ctest -R fixtures.make first" >&2; exit 1; }
cp -r "$BUILD/fixtures" "$CARRY/fixtures"
du -sh "$CARRY"
