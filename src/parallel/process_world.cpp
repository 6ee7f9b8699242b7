// Launcher detection (always compiled) and the no-MPI fallback. The MPI
// communicator itself lives in src/parallel/mpi/, compiled only when CMake
// finds MPI (TPLM_HAVE_MPI).
#include "parallel/process_world.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace tplm {
namespace {

// A non-negative integer from the environment, or -1 when absent or malformed.
int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return -1;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < 0 || x > 1 << 24) return -1;
  return static_cast<int>(x);
}

// Ranks on this host: OpenMPI's, then Hydra's count; when the launcher does not
// say, assume every rank is here (the safe guess for dividing cores).
int local_ranks(int size) {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"}) {
    const int n = env_int(var);
    if (n >= 1 && n <= size) return n;
  }
  return size;
}

// This rank's index on its host: OpenMPI's, then Hydra's; when the launcher
// does not say, the guess of local_ranks (every rank here) gives the world rank.
int local_rank(int rank, int local_size) {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID"}) {
    const int r = env_int(var);
    if (r >= 0 && r < local_size) return r;
  }
  return rank % local_size;
}

std::optional<ProcessWorld> world_from(const char* size_var, const char* rank_var) {
  int size = env_int(size_var), rank = env_int(rank_var);
  if (size < 1 || rank < 0 || rank >= size) return std::nullopt;
  const int local = local_ranks(size);
  return ProcessWorld{rank, size, local, local_rank(rank, local)};
}

}  // namespace

std::optional<ProcessWorld> detect_mpi_launch() {
  // OpenMPI's mpirun, then Hydra/Slurm PMI, then PMIx (Slurm srun --mpi=pmix).
  if (auto w = world_from("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK")) return w;
  if (auto w = world_from("PMI_SIZE", "PMI_RANK")) return w;
  if (auto w = world_from("PMIX_SIZE", "PMIX_RANK")) return w;
  if (auto w = world_from("SLURM_NTASKS", "PMIX_RANK")) return w;
  return std::nullopt;
}

#ifndef TPLM_HAVE_MPI

bool mpi_available() {
  return false;
}

std::unique_ptr<Communicator> make_mpi_communicator(double /*timeout_seconds*/) {
  throw Error(
      "this tplm was built without MPI, so it cannot run as one rank of an mpirun world; "
      "install libopenmpi-dev and rebuild (cmake finds MPI automatically), or run "
      "without mpirun and use --tp N for thread ranks");
}

void mpi_abort_world(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}

#endif

}  // namespace tplm
