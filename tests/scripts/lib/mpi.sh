# Shared helpers for the MPI script tests (source it; needs bash).
# Exit 77 = skipped (CTest SKIP_RETURN_CODE), always with the reason printed.

skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*"; exit 1; }

TPLM_SOURCE_DIR=${TPLM_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
TPLM_BINARY_DIR=${TPLM_BINARY_DIR:-$TPLM_SOURCE_DIR/build}

# OpenMPI refuses to run as root unless told it is fine (containers, CI).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Quieter aborts: one line per rank rather than OpenMPI's help banners twice.
export OMPI_MCA_orte_base_help_aggregate=1

require_mpirun() {
  command -v mpirun >/dev/null 2>&1 || skip "mpirun not found (install openmpi-bin libopenmpi-dev)"
}

# The tplm under test: TPLM_EXE, or the build's.
require_tplm() {
  TPLM_EXE=${TPLM_EXE:-$TPLM_BINARY_DIR/tplm}
  [[ -x $TPLM_EXE ]] || skip "$TPLM_EXE not built"
}

# The real model of the tests: MODEL_DIR, from TPLM_MODEL_DIR or ../shared.
require_stories260k() {
  MODEL_DIR=${TPLM_MODEL_DIR:-/work/shared/models/stories260K}
  [[ -f $MODEL_DIR/stories260K.bin ]] || skip "stories260K not found in $MODEL_DIR"
}

# The self-check program, built only when CMake found MPI.
require_check_exe() {
  CHECK_EXE=$TPLM_BINARY_DIR/mpi_collectives_check
  [[ -x $CHECK_EXE ]] || skip "$CHECK_EXE not built (this build has no MPI: cmake did not find it)"
}

# No process of ours may survive a run: fails naming the leftovers.
expect_no_leftovers() {
  local name=$1 left
  sleep 0.5
  left=$(pgrep -f -- "$name" || true)
  [[ -z $left ]] || fail "processes left behind: $(pgrep -a -f -- "$name" | tr '\n' ';')"
}
