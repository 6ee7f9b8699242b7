#pragma once
// Ranks that are processes: when tplm was started by mpirun, this process is
// one rank of a world whose size MPI knows. Detection reads the launcher's
// environment (OMPI_COMM_WORLD_SIZE / _RANK, PMI_SIZE / PMI_RANK, PMIX_RANK),
// so it costs nothing and works before MPI is initialized.
#include <memory>
#include <optional>

#include "parallel/communicator.hpp"

namespace tplm {

struct ProcessWorld {
  int rank = 0;
  int size = 1;
  int local_size = 1;  // ranks the launcher placed on this host (this one included)
  int local_rank = 0;  // this rank's index among them (0: the host's first rank)
};

// The rank and size given by an MPI launcher, or nullopt when not launched by one.
std::optional<ProcessWorld> detect_mpi_launch();

// Whether this build has the MPI communicator.
bool mpi_available();

// The communicator over MPI for this process (initializes MPI on first use).
// A collective that does not complete within timeout_seconds throws CommError
// naming the rank and the cause. Throws Error when built without MPI.
std::unique_ptr<Communicator> make_mpi_communicator(double timeout_seconds);

// Ends every process of the MPI world at once (MPI_Abort on MPI_COMM_WORLD)
// with exit status code; without MPI (or before MPI was initialized) ends
// this process only. The contract on CommError under mpirun: print the
// error's one message on stderr, then call this, so no rank is left waiting.
[[noreturn]] void mpi_abort_world(int code);

}  // namespace tplm
