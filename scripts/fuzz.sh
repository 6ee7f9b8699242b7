#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang and runs each for SECONDS
# (default 60) on its seed corpus. A crash fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTPLM_FUZZ=ON -DTPLM_TESTS=OFF \
  -DTPLM_MPI=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
cmake --build build-fuzz -j "${JOBS:-$(nproc)}"
shopt -s nullglob
targets=(fuzz/*.cpp)
if ((${#targets[@]} == 0)); then
  echo "no fuzz targets"
  exit 0
fi
for src in "${targets[@]}"; do
  name=$(basename "$src" .cpp)
  corpus=build-fuzz/corpus/$name
  mkdir -p "$corpus"
  [ -d "fuzz/seeds/$name" ] && cp -n fuzz/seeds/"$name"/* "$corpus"/ 2>/dev/null || true
  echo "==> fuzzing $name for ${SECONDS_EACH}s"
  build-fuzz/"$name" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 \
    -print_final_stats=1 "$corpus" 2>&1 | tail -n 12
  echo "$name: no crash in ${SECONDS_EACH}s"
done
