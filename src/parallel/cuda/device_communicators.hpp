#pragma once
// Communicators whose data collectives act on GPU memory (built with
// -DTPLM_CUDA=ON; the launcher picks them for the cuda backend):
//   - one GPU shared by the thread ranks of this process: the thread
//     communicator over device memory (sums and copies as kernels on each
//     rank's stream), so the split is tested on GPU kernels with one GPU;
//   - NCCL between GPUs, one rank per GPU: thread ranks of this process, or
//     one rank per process under mpirun (MPI carries NCCL's unique id). The
//     control channel stays on the host (threads, or MPI).
// NCCL communicators are non-blocking: every call is polled with
// ncclCommGetAsyncError, and a collective that has not completed within the
// timeout aborts the communicator (ncclCommAbort) and throws CommError.
#include <memory>
#include <vector>

#include "parallel/communicator.hpp"
#include "parallel/peer_memory.hpp"

namespace tplm {

std::unique_ptr<PeerMemory> make_device_peer_memory();

// Each rank's NCCL communicator is created when the rank binds its stream
// (set_stream), on the rank's own thread with its GPU current.
std::vector<std::unique_ptr<Communicator>> make_nccl_thread_communicators(int n,
                                                                          double timeout_seconds);
std::unique_ptr<Communicator> make_nccl_mpi_communicator(double timeout_seconds);

}  // namespace tplm
