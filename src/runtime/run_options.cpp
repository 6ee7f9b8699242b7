#include "runtime/run_options.hpp"

#include <algorithm>
#include <thread>

namespace tplm {

int threads_per_rank(int threads, int ranks) {
  if (threads > 0) return threads;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, ranks));
}

}  // namespace tplm
