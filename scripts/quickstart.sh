#!/usr/bin/env bash
# The first command of the README: dependencies, build, the stories260K model,
# then the main job: stories260K split over 2 ranks, generating text, with
# each rank's memory against its plan (-v).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
echo "== dependencies (scripts/install_deps.sh)" >&2
bash scripts/install_deps.sh
echo "== build (cmake + ninja into build/)" >&2
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build --target tplm
echo "== model (scripts/get_model.sh)" >&2
MODEL_DIR=$(bash scripts/get_model.sh "$ROOT/models/stories260K")
MODEL=$MODEL_DIR/stories260K.bin
TOK=$MODEL_DIR/tok512.bin
echo "== build/tplm run -m $MODEL --tokenizer $TOK -p \"Once upon a time\" -n 128 --tp 2 -v" >&2
exec build/tplm run -m "$MODEL" --tokenizer "$TOK" -p "Once upon a time" -n 128 --tp 2 -v
