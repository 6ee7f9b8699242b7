#include "runtime/launcher.hpp"

#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "format/error.hpp"
#include "parallel/thread_communicator.hpp"
#include "runtime/solo_communicator.hpp"

namespace tplm {

int launch_world_size(int tp) {
  return tp;
}

namespace {

// tp threads, one rank each. The first rank to fail aborts the world, so the
// others leave their collectives with CommError instead of waiting forever;
// the first real error (not the resulting CommErrors) is rethrown.
void launch_threads(const LaunchOptions& options, const RankFunction& fn) {
  auto comms = make_thread_communicators(options.tp, options.timeout_seconds);
  std::mutex mu;
  std::exception_ptr first, first_comm;
  auto run_rank = [&](int r) {
    auto& comm = static_cast<ThreadCommunicator&>(*comms[static_cast<size_t>(r)]);
    try {
      fn(comm);
    } catch (const CommError&) {
      std::lock_guard lock(mu);
      if (!first_comm) first_comm = std::current_exception();
      comm.world().abort("rank " + std::to_string(r) + " failed");
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(mu);
        if (!first) first = std::current_exception();
      }
      comm.world().abort("rank " + std::to_string(r) + " failed: " + e.what());
    }
  };
  std::vector<std::thread> threads;
  for (int r = 1; r < options.tp; ++r) threads.emplace_back(run_rank, r);
  run_rank(0);  // rank 0 on the caller's thread
  for (auto& t : threads) t.join();
  if (first) std::rethrow_exception(first);
  if (first_comm) std::rethrow_exception(first_comm);
}

}  // namespace

void launch_ranks(const LaunchOptions& options, const RankFunction& fn) {
  if (options.tp < 1 || options.tp > 64)
    throw Error("--tp " + std::to_string(options.tp) + " is out of range; use 1 to 64");
  if (options.tp == 1) {
    SoloCommunicator comm;
    fn(comm);
    return;
  }
  launch_threads(options, fn);
}

}  // namespace tplm
