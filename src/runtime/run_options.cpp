#include "runtime/run_options.hpp"

#include <algorithm>
#include <thread>

#include "parallel/process_world.hpp"

namespace tplm {

int ranks_on_this_host(int world) {
  if (auto w = detect_mpi_launch()) return w->local_size;
  return world;
}

int host_cores() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int threads_per_rank(int threads, int world) {
  if (threads > 0) return threads;
  return std::max(1, host_cores() / std::max(1, ranks_on_this_host(world)));
}

}  // namespace tplm
