// The engine on the GPU, held to the CPU's contracts: stories260K reproduces
// the llama2.c goldens token for token (and its logits) at tp 1, 2, 4, 8 with
// the ranks sharing one GPU and at tp 1 through NCCL; every random fixture's
// logits and tokens on the GPU equal the cpu backend's; a rank that stops
// answering ends every rank within the timeout. Skipped without a GPU.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "format/model_file.hpp"
#include "gpu_test_support.hpp"
#include "runtime/runtime_test_support.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

ModelFile stories() {
  return open_model(test::stories_dir() / "stories260K.bin");
}

EngineOptions gpu_options(int tp) {
  setenv("TPLM_CUDA_EXACT", "1", 1);  // f32 prefill, as the goldens were made
  return test::test_options(tp, BackendKind::Cuda);
}

class CudaGolden : public ::testing::TestWithParam<int> {};

TEST_P(CudaGolden, StoriesTokensAndLogits) {
  TPLM_REQUIRE_GPU();
  for (const char* g : {"once_upon_64", "empty_prompt_200"}) {
    SCOPED_TRACE(g);
    test::check_golden_logits(stories(), gpu_options(GetParam()), test::read_golden(g));
    test::check_golden_tokens(stories(), gpu_options(GetParam()), test::read_golden(g));
  }
}

INSTANTIATE_TEST_SUITE_P(OneGpu, CudaGolden, ::testing::Values(1, 2, 4, 8),
                         ::testing::PrintToStringParamName());

TEST(CudaGoldenNccl, Tp1ThroughNccl) {
  TPLM_REQUIRE_GPU();
  EngineOptions o = gpu_options(1);
  o.communicator_at_tp1 = true;
  for (const char* g : {"once_upon_64", "empty_prompt_200"}) {
    SCOPED_TRACE(g);
    test::check_golden_logits(stories(), o, test::read_golden(g));
    test::check_golden_tokens(stories(), o, test::read_golden(g));
  }
}

// The same fixture on the cpu (tp 1) and on the GPU (tp 1, 2, 4 on one GPU).
// The GPU multiplies f32 activations in every dtype: its tps agree to float
// rounding and give the same tokens, and so does the cpu for unquantized
// weights; for quantized weights the cpu re-quantizes activations to 8 bits,
// so it agrees to that rounding (2e-2, the first 16 greedy tokens). Fixtures
// the cuda kernels do not compute yet (K-quants) are left out, said on stdout.
bool gpu_computes(const ModelFile& m) {
  for (const TensorInfo& t : m.tensors)
    if (!backend_supports_dtype(BackendKind::Cuda, t.dtype)) return false;
  return true;
}

TEST(CudaTpEquivalence, EveryFixtureOnTheGpuEqualsTheCpu) {
  TPLM_REQUIRE_GPU();
  const auto fixtures = test::read_manifest();
  if (fixtures.empty()) GTEST_SKIP() << "no fixtures (made by tools/make_test_fixtures.py)";
  for (const test::Fixture& f : fixtures) {
    SCOPED_TRACE(f.name);
    ModelFile model = open_model(f.path);
    if (!gpu_computes(model)) {
      std::printf("note: %s: dtype %s has no cuda kernels yet\n", f.name.c_str(), f.dtype.c_str());
      continue;
    }
    const test::TpRun cpu = test::run_fixture(model, test::test_options(1));
    const test::TpRun gpu1 = test::run_fixture(model, gpu_options(1));
    if (test::cpu_quantizes_activations(f.dtype)) {
      EXPECT_LE(test::relative_diff(gpu1.logits, cpu.logits), 2e-2);
      const size_t n = std::min<size_t>(16, cpu.greedy.size());
      EXPECT_TRUE(std::equal(cpu.greedy.begin(), cpu.greedy.begin() + n, gpu1.greedy.begin()));
    } else {
      EXPECT_LE(test::relative_diff(gpu1.logits, cpu.logits), 1e-4);
      EXPECT_EQ(gpu1.greedy, cpu.greedy);
      EXPECT_EQ(gpu1.sampled, cpu.sampled);
    }
    const auto valid = valid_tp_values(model);
    for (int tp : {2, 4}) {
      if (std::find(valid.begin(), valid.end(), tp) == valid.end()) continue;
      const test::TpRun gpu = test::run_fixture(model, gpu_options(tp));
      EXPECT_LE(test::relative_diff(gpu.logits, gpu1.logits), 1e-4) << "tp " << tp;
      EXPECT_EQ(gpu.greedy, gpu1.greedy) << "tp " << tp;
      EXPECT_EQ(gpu.sampled, gpu1.sampled) << "tp " << tp;
    }
  }
}

// TPLM_FAULT_STALL_RANK=1: rank 1 loads, then stops answering (as a hung peer
// would). Rank 0's first exchange waits --comm-timeout (3 s), then every rank ends.
TEST(CudaFaults, AStalledRankEndsEveryRankWithinTheTimeout) {
  TPLM_REQUIRE_GPU();
  setenv("TPLM_FAULT_STALL_RANK", "1", 1);
  EngineOptions o = gpu_options(2);
  o.timeout_seconds = 3.0;
  const auto t0 = std::chrono::steady_clock::now();
  std::string error;
  try {
    test::run_on_ranks(stories(), o, [](Steps& steps) {
      const int32_t bos = 1;
      steps.forward(std::span(&bos, 1), 0, false);
      return test::RankOutput{};
    });
  } catch (const Error& e) {
    error = e.what();
  }
  unsetenv("TPLM_FAULT_STALL_RANK");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(error.find("rank 1"), std::string::npos) << error;
  EXPECT_LT(secs, 3.0 + 10.0) << error;
  std::printf("stalled rank: ended after %.1f s: %s\n", secs, error.c_str());
}

}  // namespace
}  // namespace tplm
