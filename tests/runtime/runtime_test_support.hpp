#pragma once
// Shared helpers of the runtime tests: golden files, running a model at a tp
// on every rank and collecting rank 0's results.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "format/model_file.hpp"
#include "parallel/plan.hpp"
#include "runtime/generator.hpp"
#include "runtime/steps.hpp"

namespace tplm::test {

struct Golden {
  std::string prompt;
  int64_t steps = 0;
  int64_t prompt_tokens = 0;
  std::vector<int32_t> tokens;
  std::vector<float> logits;  // [rows, vocab]
};
Golden read_golden(const std::string& name);

// max|a - b| / max|b|
double relative_diff(const std::vector<float>& a, const std::vector<float>& b);

// Runs job on rank 0 of a tp world of the engine, while the other ranks
// follow its steps.
struct RankOutput {
  std::vector<float> logits;  // what the test asked for (rank 0 only)
  GenerateResult generation;  // rank 0 only
  uint64_t weight_bytes = 0;  // every rank
};
using RankJob = std::function<RankOutput(Steps&)>;
// Every rank's output, in rank order: the job's result in element 0.
std::vector<RankOutput> run_on_ranks(const ModelFile& model, int tp, const RankJob& job,
                                     int64_t max_context = 0);

}  // namespace tplm::test
