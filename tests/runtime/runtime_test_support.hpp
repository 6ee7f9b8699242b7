#pragma once
// Shared helpers of the engine tests (cpu here, cuda in tests/cuda): golden
// files and their checks, the fixture manifest, and running a model on the
// engine with rank 0 driving a test job.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "format/model_file.hpp"
#include "parallel/plan.hpp"
#include "runtime/engine.hpp"
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

// The tests' engine: tp ranks of one kernel thread each, no progress line,
// an f32 KV cache (the run's default is f16 on cpu).
EngineOptions test_options(int tp, BackendKind backend = BackendKind::Cpu);

// Runs job on rank 0 of the engine, while the other ranks follow its steps.
struct RankOutput {
  std::vector<float> logits;  // what the test asked for (rank 0 only)
  GenerateResult generation;  // rank 0 only
  uint64_t weight_bytes = 0;  // every rank
};
using RankJob = std::function<RankOutput(Steps&)>;
// Every rank's output, in rank order: the job's result in element 0.
std::vector<RankOutput> run_on_ranks(const ModelFile& model, const EngineOptions& options,
                                     const RankJob& job);
std::vector<RankOutput> run_on_ranks(const ModelFile& model, int tp, const RankJob& job,
                                     int64_t max_context = 0);

// The golden's first 16 logit rows, from one prefill and from 16 decode
// steps, to 1e-4; and its tokens, to the last one.
void check_golden_logits(const ModelFile& model, const EngineOptions& options, const Golden& g);
void check_golden_tokens(const ModelFile& model, const EngineOptions& options, const Golden& g);

// The random fixture models (tools/make_test_fixtures.py, BUILD/fixtures).
struct Fixture {
  std::string name;
  std::filesystem::path path;
  std::string dtype;
};
std::vector<Fixture> read_manifest();  // empty when there is no manifest
// Whether the cpu backend's matmuls of this dtype quantize the activations to
// 8 bits (backend/cpu/kernels.hpp): tp changes the all-reduce's rounding, and a
// re-quantized activation can then take the neighbouring 8-bit value.
bool cpu_quantizes_activations(const std::string& dtype);

// A fixed prompt's logits (all positions), then 64 greedy and 64 seeded
// sampled tokens.
struct TpRun {
  std::vector<float> logits;
  std::vector<int32_t> greedy, sampled;
};
TpRun run_fixture(const ModelFile& model, const EngineOptions& options);

}  // namespace tplm::test
