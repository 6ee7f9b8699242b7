#!/usr/bin/env bash
# tplm run --device cuda through the executable: stories260K reproduces the
# llama2.c goldens token for token at tp 1, 2 and 4 (one GPU shared by the
# ranks), and under mpirun -np 1 (NCCL set up through MPI); a GPU that does
# not exist is refused with the fix. Skipped without a CUDA build or a GPU.
set -u
source "$(dirname "$0")/lib/mpi.sh"
require_tplm
SHARED=${TPLM_SHARED_DIR:-$TPLM_SOURCE_DIR/../shared}
MODEL_DIR=${TPLM_MODEL_DIR:-$SHARED/models/stories260K}
GOLDEN_DIR=${TPLM_GOLDEN_DIR:-$SHARED/golden/stories260K}
[[ -f $MODEL_DIR/stories260K.bin && -d $GOLDEN_DIR ]] || skip "stories260K model or golden not found"
probe=$("$TPLM_EXE" run -m "$MODEL_DIR/stories260K.bin" --tokenizer "$MODEL_DIR/tok512.bin" \
  -p hi -n 1 --device cuda 2>&1)
grep -q "built without CUDA" <<<"$probe" && skip "this tplm was built without CUDA"
grep -q "no CUDA GPU is visible" <<<"$probe" && skip "no CUDA GPU on this machine"

source "$(dirname "$0")/lib/golden.sh"

for tp in 1 2 4; do
  check_golden "$TPLM_EXE" run --device cuda --tp "$tp"
done
if command -v mpirun >/dev/null 2>&1; then
  check_golden timeout 120 mpirun -np 1 "$TPLM_EXE" run --device cuda
else
  echo "note: mpirun not found: the NCCL-through-MPI part is skipped"
fi

out=$("$TPLM_EXE" run -m "$MODEL_DIR/stories260K.bin" --tokenizer "$MODEL_DIR/tok512.bin" -p hi \
  --device cuda --gpus 63 2>&1) && fail "--gpus 63 was accepted: $out"
grep -q "GPU 63 does not exist" <<<"$out" || fail "--gpus 63: $out"
echo "refused: $out"
echo "test_gpu_cli: all passed"
