#include "runtime/run_options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "parallel/process_world.hpp"
#include "runtime/engine.hpp"
#include "runtime/usage_error.hpp"

namespace tplm {

EngineOptions engine_options(const RunOptions& o) {
  EngineOptions e;
  e.model = o.model;
  e.tp = o.tp;
  e.threads = o.threads;
  e.max_context = o.max_context;
  e.kv_type = o.kv_type;
  e.mem_budget = o.mem_budget;
  e.split = o.split;
  e.split_auto = o.split_auto;
  e.timeout_seconds = o.timeout_seconds;
  e.show_progress = o.show_progress;
  e.backend = o.backend;
  e.gpus = o.gpus;
  return e;
}

void check_run_options(const RunOptions& o) {
  check_engine_options(engine_options(o));
  if (o.max_new_tokens < -1)
    throw UsageError(
        fmt::format("-n {} is out of range; use a number of tokens >= 0, or -1 for no limit",
                    o.max_new_tokens));
  check_sampler_options(o.sampling);
  for (const std::string& s : o.stop)
    if (s.empty()) throw UsageError("--stop: a stop string is empty");
}

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

std::optional<std::string> threads_warning(int threads, int world) {
  const int ranks = std::max(1, ranks_on_this_host(world));
  // At or below the default, ranks beyond the cores are the plan's warning already.
  if (threads <= threads_per_rank(0, world) ||
      static_cast<int64_t>(threads) * ranks <= host_cores())
    return std::nullopt;
  return fmt::format(
      "--threads {} x {} rank{} on this host = {} kernel threads on {} cores: they take turns and "
      "each step is slower; leave --threads out for cores / ranks ({})",
      threads, ranks, ranks == 1 ? "" : "s", static_cast<int64_t>(threads) * ranks, host_cores(),
      threads_per_rank(0, world));
}

}  // namespace tplm
