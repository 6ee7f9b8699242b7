#pragma once
// One generation from the user's point of view: open the model, plan it (all
// errors before anything is loaded), tokenize, start the ranks, load every
// rank's shard in parallel, generate. Rank 0's text goes to on_text as it comes.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "parallel/plan.hpp"
#include "runtime/generator.hpp"
#include "runtime/run_options.hpp"

namespace tplm {

struct RankReport {
  uint64_t weight_bytes = 0;       // loaded
  uint64_t plan_weight_bytes = 0;  // the plan's figure
  uint64_t kv_cache_bytes = 0;
};

struct RunReport {
  std::vector<int32_t> prompt_tokens;  // BOS included
  GenerateResult result;
  std::string text;               // prompt and completion as printed
  std::vector<RankReport> ranks;  // every rank (threads); this process's rank under MPI
  Plan plan;
  int threads_per_rank = 1;
  double load_seconds = 0;
  bool is_rank0 = true;  // false on the other MPI processes: print nothing
};

RunReport run_model(const RunOptions& options,
                    const std::function<void(const std::string&)>& on_text);

}  // namespace tplm
