#!/usr/bin/env bash
# One command for a GPU machine: build tplm with CUDA, run the GPU tests
# (label gpu), then the GPU benchmark, and write what they print to one file.
# The benchmark: a Llama-3-8B-shaped model (dim 4096, 32 layers, 32 heads,
# 8 kv heads, FFN 14336, vocab 128256) in BF16 with random weights, made here
# by the fixture generator; decode tokens/s at batch 1 after a 32-token
# prompt, prefill tokens/s at 512 tokens, and the GPU's read bandwidth
# measured in the same run, with the fraction decode reaches.
#
#   scripts/gpu_check.sh [OUT_FILE]          (default: gpu_check.txt)
#
# Where the machine lacks a dependency and has no network, scripts/gpu_carry.sh
# (run on a machine that has them) packs them into gpu-carry/, used here.
# TPLM_GPU_CHECK_ALL=1 also runs the rest of the test suite at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_FILE=$(realpath -m "${1:-gpu_check.txt}")
: >"$OUT_FILE"
T0=$(date +%s)
say() { echo "[$(($(date +%s) - T0))s] $*" | tee -a "$OUT_FILE"; }
run() { "$@" 2>&1 | tee -a "$OUT_FILE"; return "${PIPESTATUS[0]}"; }
WORK=${TMPDIR:-/tmp}/tplm-gpu-check
mkdir -p "$WORK"
BUILD=${TPLM_GPU_BUILD_DIR:-build-gpu}
status=0

say "== machine"
run nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv
run nvcc --version | tail -1
say "cores: $(nproc)"

# ---- what gpu-carry/ brings, where the machine lacks it
CARRY=$PWD/gpu-carry
if [[ -d $CARRY ]]; then
  if ! pkg-config --exists libpcre2-8 2>/dev/null; then
    rm -rf "$WORK/pcre2" && dpkg -x "$CARRY"/debs/libpcre2-dev_*.deb "$WORK/pcre2"
    pc=$WORK/pcre2/usr/lib/x86_64-linux-gnu/pkgconfig
    sed -i "s|^prefix=.*|prefix=$WORK/pcre2/usr|" "$pc"/*.pc
    ln -sf /usr/lib/x86_64-linux-gnu/libpcre2-8.so.0 "$WORK/pcre2/usr/lib/x86_64-linux-gnu/libpcre2-8.so"
    export PKG_CONFIG_PATH=$pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    say "pcre2: headers from gpu-carry"
  fi
  for mod in numpy:numpy yaml:pyyaml gguf:gguf; do
    if ! python3 -c "import ${mod%%:*}" 2>/dev/null; then
      python3 -m pip install -q --no-index --no-deps --target "$WORK/py" "$CARRY"/wheels/"${mod#*:}"-*.whl &&
        export PYTHONPATH=$WORK/py${PYTHONPATH:+:$PYTHONPATH}
      say "python: ${mod#*:} from gpu-carry"
    fi
  done
  export TPLM_SHARED_DIR=$CARRY/shared
fi
SHARED=${TPLM_SHARED_DIR:-$PWD/../shared}
export TPLM_STORIES_DIR=$SHARED/models/stories260K TPLM_MODEL_DIR=$SHARED/models/stories260K
export TPLM_GOLDEN_DIR=$SHARED/golden/stories260K TPLM_TOKENIZER_DIR=$SHARED/models/stories260K

# ---- build
say "== build (CUDA)"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
archs=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '.')
run cmake -S . -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DTPLM_CUDA=ON -DTPLM_WERROR=OFF \
  -DCMAKE_CUDA_ARCHITECTURES="${TPLM_CUDA_ARCHS:-${archs:-90}}" >/dev/null || status=1
BUILD_LOG=$(dirname "$OUT_FILE")/gpu_build.log
cmake --build "$BUILD" -j "$(nproc)" >"$BUILD_LOG" 2>&1 || status=1
grep -E "error|warning:|FAILED" "$BUILD_LOG" | head -40 | tee -a "$OUT_FILE"
[[ -x $BUILD/tplm && -x $BUILD/test_cuda ]] || { say "BUILD FAILED (log: $BUILD_LOG)"; exit 1; }
say "built"

# ---- tests
ctest_args=()
if [[ -d $CARRY/fixtures && ! -f $BUILD/fixtures/manifest.json ]]; then
  cp -r "$CARRY/fixtures" "$BUILD/fixtures" && touch "$BUILD/fixtures/manifest.json"
fi
python3 -c "import numpy" 2>/dev/null || ctest_args+=(-FS models)  # fixtures carried, not made
say "== GPU tests (ctest -L gpu)"
run ctest --test-dir "$BUILD" -L gpu --output-on-failure -j 4 --timeout 300 "${ctest_args[@]}" ||
  status=1
run "$BUILD/test_cuda" --gtest_filter='CudaOps.ReadBandwidthIsMeasured:CudaFaults.*' 2>&1 | grep -E "bandwidth|stalled" || true

# ---- benchmark
say "== benchmark: 8B-shaped BF16 model, random weights"
MODEL=$WORK/llama8b.BF16.gguf
if [[ ! -f $MODEL ]]; then
  run python3 tools/gen_fixture.py "$WORK/llama8b" --dim 4096 --ffn 14336 --layers 32 --heads 32 \
    --kv-heads 8 --vocab 128256 --context 8192 --untied --formats gguf:BF16 --fast || status=1
fi
say "-- decode: 32-token prompt, 256 tokens, batch 1"
run "$BUILD/tplm" bench -m "$MODEL" --device cuda --prompt-tokens 32 --gen-tokens 256 || status=1
say "-- prefill: 512 tokens"
run "$BUILD/tplm" bench -m "$MODEL" --device cuda --prompt-tokens 512 --gen-tokens 1 || status=1
say "-- decode without CUDA graphs (TPLM_CUDA_GRAPHS=0)"
run env TPLM_CUDA_GRAPHS=0 "$BUILD/tplm" bench -m "$MODEL" --device cuda --prompt-tokens 32 \
  --gen-tokens 128 || status=1

say "-- where decode's time goes (TPLM_CUDA_PROFILE=1: every op timed, no recording)"
run env TPLM_CUDA_PROFILE=1 "$BUILD/tplm" bench -m "$MODEL" --device cuda --prompt-tokens 32 \
  --gen-tokens 64 || status=1

if [[ ${TPLM_GPU_CHECK_ALL:-0} == 1 ]]; then
  say "== the rest of the test suite"
  run ctest --test-dir "$BUILD" -LE gpu -j "$(nproc)" --timeout 300 "${ctest_args[@]}" || status=1
fi
say "== done (status $status)"
exit $status
