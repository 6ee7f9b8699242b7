#!/usr/bin/env bash
# The whole test suite: installs what is missing, checks the C++ formatting
# (.clang-format), then
#   1. the normal build (warnings are errors) and every CTest test,
#   2. the ASan + UBSan build and every CTest test again,
#   3. the CUDA build (warnings are errors) and the GPU tests, which report
#      themselves skipped on a machine without a GPU (skipped where nvcc is missing),
#   4. each reader's libFuzzer target for a bounded time (TPLM_FUZZ_SECONDS, default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
JOBS=${JOBS:-$(nproc)}

echo "==> formatting (clang-format --dry-run --Werror on every tracked C++ file)"
git ls-files '*.cpp' '*.hpp' '*.h' | xargs clang-format --dry-run --Werror

echo "==> [1/4] build and test (RelWithDebInfo, -Werror)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTPLM_WERROR=ON
cmake --build build -j "$JOBS"
ctest --test-dir build --output-on-failure -j "$JOBS"

echo "==> [2/4] build and test with AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTPLM_SANITIZE=ON -DTPLM_WERROR=ON
cmake --build build-asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$JOBS" -E "^script\."

echo "==> [3/4] CUDA build and the GPU tests (label gpu)"
if command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
  cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTPLM_CUDA=ON -DTPLM_WERROR=ON
  # Only what the GPU tests run (the CPU tests were built and run in step 1).
  cmake --build build-cuda -j "$JOBS" --target tplm test_cuda
  ctest --test-dir build-cuda -L gpu --output-on-failure -j "$JOBS"
else
  echo "no CUDA toolkit (nvcc): the CUDA build is skipped"
fi

echo "==> [4/4] fuzz the readers"
scripts/fuzz.sh "${TPLM_FUZZ_SECONDS:-60}"
