#!/usr/bin/env bash
# mpirun -np 1|2|3|4|8 tplm run on stories260K reproduces the reference
# generations (/work/shared/golden/stories260K/*.json) token for token, then
# the same across 2 and 4 namespace hosts over TCP (skipped without root).
set -u
source "$(dirname "$0")/lib/mpi.sh"
require_mpirun
require_tplm
require_check_exe  # built only with MPI
MODEL_DIR=${TPLM_MODEL_DIR:-/work/shared/models/stories260K}
GOLDEN_DIR=${TPLM_GOLDEN_DIR:-/work/shared/golden/stories260K}
[[ -f $MODEL_DIR/stories260K.bin && -d $GOLDEN_DIR ]] || skip "stories260K model or golden not found"

source "$(dirname "$0")/lib/golden.sh"

for np in 1 2 3 4 8; do
  check_golden timeout 120 mpirun --oversubscribe -np "$np" "$TPLM_EXE" run --threads 1 --kv-type f32
done

if [[ $(id -u) -eq 0 ]] && ip netns add tplm-probe$$ 2>/dev/null; then
  ip netns del tplm-probe$$
  source "$(dirname "$0")/lib/netns.sh"
  netns_require
  for k in 2 4; do
    netns_up "$k"
    check_golden netns_mpirun "$TPLM_EXE" run --threads 1 --kv-type f32
    netns_down
  done
else
  echo "note: namespace hosts part skipped (needs root / CAP_NET_ADMIN)"
fi
expect_no_leftovers "$TPLM_EXE run"
echo "test_mpi_golden: all passed"
