#include "runtime/launcher.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "parallel/plan.hpp"
#include "parallel/process_world.hpp"
#include "parallel/solo_communicator.hpp"
#include "parallel/thread_communicator.hpp"

namespace tplm {

namespace {

std::string tp_mismatch(const ProcessWorld& w, int tp) {
  return "started by mpirun with " + std::to_string(w.size) + " processes but --tp " +
         std::to_string(tp) + "; pass --tp " + std::to_string(w.size) + " or leave --tp out";
}

}  // namespace

int launch_world_size(int tp) {
  if (auto w = detect_mpi_launch()) {
    if (tp != 1 && tp != w->size) {
      // Every rank sees the same mistake: rank 0 alone says it (one message,
      // not one per process); the others wait a moment so that mpirun does
      // not end rank 0 before it has printed, then leave quietly.
      if (w->rank == 0) throw Error(tp_mismatch(*w, tp));
      std::this_thread::sleep_for(std::chrono::seconds(1));
      std::_Exit(1);
    }
    return w->size;
  }
  return tp;
}

int launch_rank() {
  if (auto w = detect_mpi_launch()) return w->rank;
  return 0;
}

namespace {

// tp threads, one rank each. The first rank to fail aborts the world, so the
// others leave their collectives with CommError instead of waiting forever;
// the first real error (not the resulting CommErrors) is rethrown.
void launch_threads(const LaunchOptions& options, const RankFunction& fn) {
  auto comms = options.make_thread_comms
                   ? options.make_thread_comms(options.tp, options.timeout_seconds)
                   : make_thread_communicators(options.tp, options.timeout_seconds);
  std::mutex mu;
  std::exception_ptr first, first_comm;
  auto run_rank = [&](int r) {
    Communicator& comm = *comms[static_cast<size_t>(r)];
    try {
      fn(comm);
    } catch (const CommError&) {
      std::lock_guard lock(mu);
      if (!first_comm) first_comm = std::current_exception();
      comm.abort("rank " + std::to_string(r) + " failed");
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(mu);
        if (!first) first = std::current_exception();
      }
      comm.abort("rank " + std::to_string(r) + " failed: " + e.what());
    }
  };
  std::vector<std::thread> threads;
  for (int r = 1; r < options.tp; ++r) threads.emplace_back(run_rank, r);
  run_rank(0);  // rank 0 on the caller's thread
  for (auto& t : threads) t.join();
  if (first) std::rethrow_exception(first);
  if (first_comm) std::rethrow_exception(first_comm);
}

// One MPI process = one rank. A rank that fails ends the whole MPI world at
// once (the peers would otherwise wait in a collective until the timeout).
void launch_mpi(const ProcessWorld& w, const LaunchOptions& options, const RankFunction& fn) {
  if (options.tp != 1 && options.tp != w.size) throw Error(tp_mismatch(w, options.tp));
  auto comm = options.make_process_comm ? options.make_process_comm(options.timeout_seconds)
                                        : make_mpi_communicator(options.timeout_seconds);
  try {
    fn(*comm);
  } catch (const std::exception& e) {
    // CommErrors already begin with "rank N:"; say the rank once.
    const std::string what = e.what();
    const std::string self = "rank " + std::to_string(w.rank) + ": ";
    if (what.rfind(self, 0) == 0)
      std::fprintf(stderr, "tplm: error: %s\n", what.c_str());
    else
      std::fprintf(stderr, "tplm: error: %s%s\n", self.c_str(), what.c_str());
    std::fflush(stderr);
    mpi_abort_world(1);
  }
}

}  // namespace

void launch_ranks(const LaunchOptions& options, const RankFunction& fn) {
  if (options.tp < 1 || options.tp > kMaxTp)
    throw Error("--tp " + std::to_string(options.tp) + " is out of range; use 1 to " +
                std::to_string(kMaxTp));
  if (auto w = detect_mpi_launch()) {
    launch_mpi(*w, options, fn);
    return;
  }
  if (options.tp == 1 && !options.communicator_at_tp1) {
    SoloCommunicator comm;
    fn(comm);
    return;
  }
  launch_threads(options, fn);
}

}  // namespace tplm
