// A batched step gives each sequence exactly what it gets alone (issue 12):
// several sequences in their own KV cache slots, prefilled in chunks while
// others decode, produce the logits (f32: within 1e-5 of max |logit|) and the
// greedy tokens of each sequence run alone through Steps::forward, at tp 1,
// 2 and 4, and under mpirun (tests/scripts/test_mpi_batched.sh runs the last
// test here as 2 MPI processes).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "format/model_file.hpp"
#include "runtime/launcher.hpp"
#include "runtime/sampler.hpp"
#include "runtime_test_support.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

constexpr int64_t kGenerated = 12;  // greedy tokens per sequence

// One sequence: its prompt, its slot, the step it joins at; what it got.
struct Seq {
  std::vector<int32_t> prompt;
  int32_t slot = 0;
  int join_step = 0;
  size_t fed = 0;               // prompt tokens in the cache
  std::vector<int32_t> tokens;  // greedy tokens
  std::vector<float> logits;    // the logits each token was chosen from, concatenated
};

std::vector<Seq> some_sequences(int64_t vocab) {
  auto prompt = [&](int n, int salt) {
    std::vector<int32_t> ids{1};
    for (int i = 1; i < n; ++i)
      ids.push_back(static_cast<int32_t>((i * 37 + salt * 11 + 3) % vocab));
    return ids;
  };
  // Lengths around the chunk size, slots out of order, staggered joins.
  auto seq = [&](int n, int salt, int32_t slot, int join) {
    Seq s;
    s.prompt = prompt(n, salt);
    s.slot = slot;
    s.join_step = join;
    return s;
  };
  return {seq(7, 1, 2, 0), seq(3, 2, 0, 0), seq(11, 3, 3, 1), seq(1, 4, 1, 4)};
}

void take(Seq& s, const float* logits, int64_t vocab) {
  const std::span<const float> row(logits, static_cast<size_t>(vocab));
  s.logits.insert(s.logits.end(), row.begin(), row.end());
  s.tokens.push_back(argmax(row));
}

// Each sequence alone: the prompt in one step, then one token per step (slot 0).
void run_alone(Steps& steps, std::vector<Seq>& seqs, int64_t vocab) {
  for (Seq& s : seqs) {
    take(s, steps.forward(s.prompt, 0, false).data(), vocab);
    while (static_cast<int64_t>(s.tokens.size()) < kGenerated) {
      const int32_t id[1] = {s.tokens.back()};
      const auto pos = static_cast<int64_t>(s.prompt.size() + s.tokens.size() - 1);
      take(s, steps.forward(id, pos, false).data(), vocab);
    }
  }
}

// All of them together: prompts in chunks of `chunk` tokens, decode rows
// first and prefill rows after them (so the rows wanting logits are not
// always the last ones), sequences joining at their step.
void run_batched(Steps& steps, std::vector<Seq>& seqs, int64_t vocab, size_t chunk) {
  for (int step = 0;; ++step) {
    std::vector<BatchRow> rows;
    std::vector<Seq*> wanting;  // in the order of the rows that want logits
    for (Seq& s : seqs)
      if (step >= s.join_step && s.fed == s.prompt.size() &&
          static_cast<int64_t>(s.tokens.size()) < kGenerated) {
        const auto pos = static_cast<int32_t>(s.prompt.size() + s.tokens.size() - 1);
        rows.push_back({s.slot, pos, s.tokens.back(), 1});
        wanting.push_back(&s);
      }
    for (Seq& s : seqs) {
      if (step < s.join_step || s.fed == s.prompt.size()) continue;
      const size_t n = std::min(chunk, s.prompt.size() - s.fed);
      for (size_t i = 0; i < n; ++i) {
        const bool last = s.fed + i + 1 == s.prompt.size();
        rows.push_back(
            {s.slot, static_cast<int32_t>(s.fed + i), s.prompt[s.fed + i], last ? 1 : 0});
        if (last) wanting.push_back(&s);
      }
      s.fed += n;
    }
    if (rows.empty()) {
      if (std::all_of(seqs.begin(), seqs.end(), [](const Seq& s) {
            return static_cast<int64_t>(s.tokens.size()) == kGenerated;
          }))
        return;
      continue;  // a sequence joins later
    }
    const std::span<const float> logits = steps.forward_rows(rows);
    ASSERT_EQ(logits.size(), wanting.size() * static_cast<size_t>(vocab));
    for (size_t i = 0; i < wanting.size(); ++i)
      take(*wanting[i], logits.data() + i * static_cast<size_t>(vocab), vocab);
  }
}

struct Outcome {
  std::vector<Seq> alone, batched;
};

Outcome run_both(const ModelFile& model, const EngineOptions& base, size_t chunk) {
  EngineOptions o = base;
  o.slots = 4;
  o.max_context = 64;
  Outcome out;
  Engine engine(model, o);
  engine.run([&](Steps& steps) {
    EXPECT_EQ(steps.slots(), 4);
    out.alone = some_sequences(model.config.vocab_size);
    out.batched = out.alone;
    run_alone(steps, out.alone, model.config.vocab_size);
    run_batched(steps, out.batched, model.config.vocab_size, chunk);
  });
  return out;
}

void expect_same(const Outcome& o, const std::string& what) {
  ASSERT_EQ(o.alone.size(), o.batched.size());
  for (size_t i = 0; i < o.alone.size(); ++i) {
    EXPECT_EQ(o.batched[i].tokens, o.alone[i].tokens) << what << ", sequence " << i;
    ASSERT_EQ(o.batched[i].logits.size(), o.alone[i].logits.size());
    EXPECT_LE(test::relative_diff(o.batched[i].logits, o.alone[i].logits), 1e-5)
        << what << ", sequence " << i;
  }
}

std::vector<test::Fixture> f32_fixtures() {
  std::vector<test::Fixture> out;
  for (const test::Fixture& f : test::read_manifest())
    if (f.dtype == "F32" && f.path.extension() == ".gguf") out.push_back(f);
  return out;
}

TEST(BatchedStep, EachSequenceGetsWhatItGetsAloneAtTp1_2_4) {
  const auto fixtures = f32_fixtures();
  if (fixtures.empty())
    GTEST_SKIP() << "no f32 GGUF fixture in " << (test::fixtures_dir() / "manifest.json")
                 << " (made by tools/make_test_fixtures.py)";
  for (const test::Fixture& f : fixtures) {
    ModelFile model = open_model(f.path);
    const auto valid = valid_tp_values(model);
    for (int tp : {1, 2, 4}) {
      if (std::find(valid.begin(), valid.end(), tp) == valid.end()) continue;
      for (size_t chunk : {size_t{4}, size_t{64}})
        expect_same(run_both(model, test::test_options(tp), chunk),
                    f.name + " tp " + std::to_string(tp) + " chunk " + std::to_string(chunk));
    }
  }
}

TEST(BatchedStep, RowsThatBreakTheRulesAreErrors) {
  const auto fixtures = f32_fixtures();
  if (fixtures.empty()) GTEST_SKIP() << "no f32 GGUF fixture (tools/make_test_fixtures.py)";
  ModelFile model = open_model(fixtures.front().path);
  EngineOptions o = test::test_options(1);
  o.slots = 2;
  o.max_context = 16;
  Engine engine(model, o);
  engine.run([&](Steps& steps) {
    auto message = [&](std::vector<BatchRow> rows) -> std::string {
      try {
        steps.forward_rows(rows);
      } catch (const Error& e) {
        return e.what();
      }
      return "no error";
    };
    EXPECT_NE(message({{2, 0, 1, 1}}).find("slot 2, but the KV cache has 2 slots"),
              std::string::npos);
    EXPECT_NE(message({{0, 16, 1, 1}}).find("outside the context of 16"), std::string::npos);
    EXPECT_NE(message({{0, 0, 1, 0}, {0, 2, 1, 1}}).find("not at consecutive positions"),
              std::string::npos);
    EXPECT_NE(message({{0, 0, 1, 0}, {1, 0, 1, 0}, {0, 1, 1, 1}}).find("two runs of rows"),
              std::string::npos);
    EXPECT_NE(message({}).find("at least one row"), std::string::npos);
    // A step with no row wanting logits (a prefill chunk) returns none.
    EXPECT_TRUE(steps.forward_rows(std::vector<BatchRow>{{1, 0, 1, 0}, {1, 1, 2, 0}}).empty());
  });
}

// Run by tests/scripts/test_mpi_batched.sh as `mpirun -np 2 test_runtime
// --gtest_filter=BatchedStep.UnderMpirun*`: each process one rank.
TEST(BatchedStep, UnderMpirunEachSequenceGetsWhatItGetsAlone) {
  if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr)
    GTEST_SKIP() << "runs under mpirun only (tests/scripts/test_mpi_batched.sh)";
  const auto fixtures = f32_fixtures();
  if (fixtures.empty()) GTEST_SKIP() << "no f32 GGUF fixture (tools/make_test_fixtures.py)";
  const int world = launch_world_size(1);
  for (const test::Fixture& f : fixtures) {
    ModelFile model = open_model(f.path);
    const auto valid = valid_tp_values(model);
    if (std::find(valid.begin(), valid.end(), world) == valid.end()) continue;
    const Outcome o = run_both(model, test::test_options(world), 4);
    if (launch_rank() == 0) expect_same(o, f.name + " under mpirun -np " + std::to_string(world));
  }
}

}  // namespace
}  // namespace tplm
