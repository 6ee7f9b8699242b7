#pragma once
// Starts the ranks of one world and runs the same function on each (SPMD):
//   - started by mpirun (detect_mpi_launch): this process is one rank; fn runs
//     once here with the MPI communicator;
//   - otherwise tp threads in this process with in-process communicators
//     (tp = 1: one call on this thread, no communicator cost).
// When a rank throws, the world is aborted so that no other rank waits forever
// in a collective, and the first error is rethrown on the caller.
#include <functional>
#include <memory>
#include <vector>

#include "parallel/communicator.hpp"

namespace tplm {

// The communicators that match the ranks' backend: those of n thread ranks in
// this process, or this process's one rank under mpirun.
using ThreadCommsFactory =
    std::function<std::vector<std::unique_ptr<Communicator>>(int n, double timeout_seconds)>;
using ProcessCommFactory = std::function<std::unique_ptr<Communicator>(double timeout_seconds)>;

struct LaunchOptions {
  LaunchOptions() = default;
  LaunchOptions(int tp_, double timeout) : tp(tp_), timeout_seconds(timeout) {}
  int tp = 1;
  double timeout_seconds = 300.0;        // a collective that waits longer fails (dead peer)
  ThreadCommsFactory make_thread_comms;  // empty: host-memory thread communicators
  ProcessCommFactory make_process_comm;  // empty: the MPI communicator
  // tp = 1 runs on the caller's thread with no communicator at all, unless
  // this asks for the factory's (to test it, e.g. NCCL with one GPU).
  bool communicator_at_tp1 = false;
};

using RankFunction = std::function<void(Communicator&)>;

void launch_ranks(const LaunchOptions& options, const RankFunction& fn);

// The rank count of this launch: mpirun's world size when started by it, else tp.
// Under mpirun a tp other than 1 or the world size is an error: rank 0 throws
// it, the other ranks exit(1) without a word (one message, not one per rank).
int launch_world_size(int tp);
// This process's rank: mpirun's rank, else 0 (threads: rank 0 is the caller's thread).
int launch_rank();

}  // namespace tplm
