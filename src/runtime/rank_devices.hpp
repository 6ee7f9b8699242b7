#pragma once
// Where the ranks run and how they exchange, decided before anything is
// loaded:
//   cpu:  every rank on the host; thread ranks exchange through host memory,
//         MPI processes through MPI.
//   cuda: thread ranks one per GPU with NCCL between them; or, with one GPU
//         and tp > 1, every rank on that GPU exchanging through its memory
//         (a test of the split on GPU kernels, not a speed-up); under mpirun
//         each process takes a GPU of its host by its local rank, NCCL between
//         them (two ranks on one GPU is an error: NCCL cannot do it).
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "runtime/launcher.hpp"

namespace tplm {

struct RankDevices {
  BackendKind backend = BackendKind::Cpu;
  std::vector<int> device_of_rank;  // thread ranks: all of them; under mpirun: this process's
  bool shared_gpu = false;          // tp > 1 ranks on one GPU
  std::string note;                 // what the user should know about the layout ("" if nothing)
  int device_count = 0;             // devices the ranks use (for the plan's limits)
};

// gpus: the GPUs the user allowed (--gpus; empty = every visible one).
// Throws Error naming the problem and the fix.
RankDevices place_ranks(BackendKind backend, int world, const std::vector<int>& gpus);

// The launcher's communicator factories for that placement.
LaunchOptions launch_options_for(const RankDevices& d, int tp, double timeout_seconds);

}  // namespace tplm
