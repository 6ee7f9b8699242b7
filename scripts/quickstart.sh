#!/usr/bin/env bash
# The first command of the README: dependencies, build, the stories260K model,
# then the main job (tplm run at tp 2 once the run command is built; until
# then tplm inspect).
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
if build/tplm run --help >/dev/null 2>&1 && ! build/tplm run --help 2>&1 | grep -q "not built yet"; then
  echo "== build/tplm run -m $MODEL --tokenizer $TOK -p \"Once upon a time\" -n 64 --tp 2" >&2
  exec build/tplm run -m "$MODEL" --tokenizer "$TOK" -p "Once upon a time" -n 64 --tp 2
fi
echo "== build/tplm inspect $MODEL --tokenizer $TOK" >&2
exec build/tplm inspect "$MODEL" --tokenizer "$TOK"
