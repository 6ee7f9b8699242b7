#!/usr/bin/env bash
# The whole test suite: installs what is missing, checks the C++ formatting
# (.clang-format), then
#   1. the normal build (warnings are errors) and every CTest test,
#   2. the ASan + UBSan build and every CTest test again,
#   3. each reader's libFuzzer target for a bounded time (TPLM_FUZZ_SECONDS, default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
JOBS=${JOBS:-$(nproc)}

echo "==> formatting (clang-format --dry-run --Werror on every tracked C++ file)"
git ls-files '*.cpp' '*.hpp' '*.h' | xargs clang-format --dry-run --Werror

echo "==> [1/3] build and test (RelWithDebInfo, -Werror)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTPLM_WERROR=ON
cmake --build build -j "$JOBS"
ctest --test-dir build --output-on-failure -j "$JOBS"

echo "==> [2/3] build and test with AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTPLM_SANITIZE=ON -DTPLM_WERROR=ON
cmake --build build-asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$JOBS" -E "^script\."

echo "==> [3/3] fuzz the readers"
scripts/fuzz.sh "${TPLM_FUZZ_SECONDS:-60}"
