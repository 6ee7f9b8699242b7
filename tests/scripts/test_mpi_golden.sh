#!/usr/bin/env bash
# mpirun -np 1|2|4|8 tplm run on stories260K reproduces the reference
# generations (/work/shared/golden/stories260K/*.json) token for token, then
# the same across 2 and 4 namespace hosts over TCP (skipped without root).
set -u
source "$(dirname "$0")/lib/mpi.sh"
require_mpirun
TPLM_EXE=${TPLM_EXE:-$TPLM_BINARY_DIR/tplm}
[[ -x $TPLM_EXE ]] || skip "$TPLM_EXE not built"
[[ -x $TPLM_BINARY_DIR/mpi_collectives_check ]] || skip "this tplm was built without MPI"
MODEL_DIR=${TPLM_MODEL_DIR:-/work/shared/models/stories260K}
GOLDEN_DIR=${TPLM_GOLDEN_DIR:-/work/shared/golden/stories260K}
[[ -f $MODEL_DIR/stories260K.bin && -d $GOLDEN_DIR ]] || skip "stories260K model or golden not found"

# check_golden LAUNCHER... : runs every golden case under the launcher.
check_golden() {
  local golden prompt n out
  for golden in "$GOLDEN_DIR"/*.json; do
    prompt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["prompt"])' "$golden")
    n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["tokens"]) - d["prompt_tokens"])' "$golden")
    out=$("$@" "$TPLM_EXE" run -m "$MODEL_DIR/stories260K.bin" --tokenizer "$MODEL_DIR/tok512.bin" \
      -p "$prompt" -n "$n" --json --threads 1) || fail "$* on $(basename "$golden"): tplm failed"
    python3 - "$golden" "$out" "$*" <<'PY' || exit 1
import json, sys
want = json.load(open(sys.argv[1]))["tokens"]
got = json.loads(sys.argv[2])
got = got["prompt_tokens"] + got["generated_tokens"]
name = sys.argv[1].rsplit("/", 1)[-1]
if got != want:
    i = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    print(f"FAILED: {sys.argv[3]} {name}: tokens differ at {i}: got {got[i:i+5]} want {want[i:i+5]}")
    sys.exit(1)
print(f"ok: {sys.argv[3]} {name}: {len(got)} tokens match")
PY
  done
}

for np in 1 2 4 8; do
  check_golden timeout 120 mpirun --oversubscribe -np "$np"
done

if [[ $(id -u) -eq 0 ]] && ip netns add tplm-probe$$ 2>/dev/null; then
  ip netns del tplm-probe$$
  source "$(dirname "$0")/lib/netns.sh"
  netns_require
  for k in 2 4; do
    netns_up "$k"
    check_golden netns_mpirun
    netns_down
  done
else
  echo "note: namespace hosts part skipped (needs root / CAP_NET_ADMIN)"
fi
expect_no_leftovers "$TPLM_EXE run"
echo "test_mpi_golden: all passed"
