#pragma once
// `tplm run` as a job on the engine: check the options, open the model and
// check them against it, plan, tokenize, load every rank, generate from
// rank 0. Rank 0's text goes to on_text as it comes.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "parallel/plan.hpp"
#include "runtime/capacity.hpp"
#include "runtime/engine.hpp"
#include "runtime/generator.hpp"
#include "runtime/run_options.hpp"

namespace tplm {

struct RunReport {
  std::vector<int32_t> prompt_tokens;  // BOS included
  GenerateResult result;               // result.text: the completion alone
  std::string text;                    // prompt and completion as printed
  std::vector<RankReport> ranks;       // every rank (threads); this process's rank under MPI
  Plan plan;
  Capacity capacity;  // each rank's memory need against its device
  int threads_per_rank = 1;
  double load_seconds = 0;
  bool is_rank0 = true;  // false on the other MPI processes: print nothing
};

// -c above the model's trained context is allowed; this is the warning to
// print then (nullopt otherwise).
std::optional<std::string> context_warning(int64_t asked, int64_t model_context);

// on_plan is called on rank 0 once the plan is made and the prompt is
// tokenized, before any weight is loaded.
RunReport run_model(
    const RunOptions& options, const std::function<void(const std::string&)>& on_text,
    const std::function<void(const ModelFile&, const Plan&, const Capacity&)>& on_plan = {});

}  // namespace tplm
