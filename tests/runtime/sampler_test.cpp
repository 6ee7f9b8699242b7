// The sampler: greedy is argmax, top-k 1 and a tiny top-p collapse to it, a
// seed fixes the draws, the draws follow softmax(logits / T), and a logit bias
// moves or bans tokens.
#include "runtime/sampler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/error.hpp"
#include "runtime/usage_error.hpp"

namespace tplm {
namespace {

const std::vector<float> kLogits = {0.5f, 2.0f, -1.0f, 1.5f, 0.0f};

SamplerOptions opts(float temperature, int top_k, float top_p, uint64_t seed,
                    std::vector<LogitBias> bias = {}) {
  SamplerOptions o;
  o.temperature = temperature;
  o.top_k = top_k;
  o.top_p = top_p;
  o.seed = seed;
  o.logit_bias = std::move(bias);
  return o;
}

TEST(Sampler, GreedyIsArgmax) {
  Sampler s(opts(0.0f, 0, 1.0f, 7));
  EXPECT_EQ(s.sample(kLogits), 1);
}

// argmax is std::max_element's first largest for every length (shorter than
// its 16 lanes, a tail after them), ties, -inf, and NaN anywhere.
TEST(Sampler, ArgmaxIsTheFirstLargest) {
  uint32_t state = 12345;
  const auto next = [&] { return (state = state * 1664525u + 1013904223u) >> 8; };
  for (size_t n : {0, 1, 5, 15, 16, 17, 31, 32, 33, 100, 32000}) {
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> v(n);
      for (float& x : v) x = static_cast<float>(next() % 50) - 25.0f;  // many ties
      if (trial % 4 == 1 && n > 0) v[next() % n] = std::nanf("");
      if (trial % 4 == 2 && n > 0) v[0] = std::nanf("");
      if (trial % 4 == 3)
        for (float& x : v) x = -INFINITY;
      const auto want = static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
      ASSERT_EQ(argmax(v), want) << "n " << n << " trial " << trial;
    }
  }
}

TEST(Sampler, TopK1AndTinyTopPAreGreedy) {
  Sampler k1(opts(1.0f, 1, 1.0f, 7)), p0(opts(1.0f, 0, 1e-6f, 7));
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(k1.sample(kLogits), 1);
    EXPECT_EQ(p0.sample(kLogits), 1);
  }
}

TEST(Sampler, SameSeedSameDrawsOtherSeedOtherDraws) {
  Sampler a(opts(1.0f, 0, 1.0f, 42)), b(opts(1.0f, 0, 1.0f, 42)), c(opts(1.0f, 0, 1.0f, 43));
  std::vector<int32_t> da, db, dc;
  for (int i = 0; i < 200; ++i) {
    da.push_back(a.sample(kLogits));
    db.push_back(b.sample(kLogits));
    dc.push_back(c.sample(kLogits));
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
}

TEST(Sampler, FrequenciesFollowSoftmax) {
  Sampler s(opts(1.0f, 0, 1.0f, 1));
  const int n = 20000;
  std::vector<int> count(kLogits.size());
  for (int i = 0; i < n; ++i) ++count[static_cast<size_t>(s.sample(kLogits))];
  double z = 0;
  for (float l : kLogits) z += std::exp(l);
  for (size_t i = 0; i < kLogits.size(); ++i)
    EXPECT_NEAR(count[i] / static_cast<double>(n), std::exp(kLogits[i]) / z, 0.015)
        << "token " << i;
}

TEST(Sampler, TopKTwoNeverDrawsOthers) {
  Sampler s(opts(5.0f, 2, 1.0f, 3));
  for (int i = 0; i < 500; ++i) {
    int32_t t = s.sample(kLogits);
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
}

TEST(Sampler, BadOptionsAreUsageErrors) {
  EXPECT_THROW(Sampler(opts(-1.0f, 0, 1.0f, 1)), UsageError);
  EXPECT_THROW(Sampler(opts(1.0f, -2, 1.0f, 1)), UsageError);
  EXPECT_THROW(Sampler(opts(1.0f, 0, 0.0f, 1)), UsageError);
  EXPECT_THROW(Sampler(opts(1.0f, 0, 1.5f, 1)), UsageError);
  EXPECT_THROW(Sampler(opts(NAN, 0, 1.0f, 1)), UsageError);
  EXPECT_THROW(Sampler(opts(0.0f, 0, 1.0f, 1, {{-1, 1.0f}})), UsageError);
  EXPECT_THROW(Sampler(opts(0.0f, 0, 1.0f, 1, {{1, INFINITY}})), UsageError);
  EXPECT_THROW(Sampler(opts(0.0f, 0, 1.0f, 1, {{1, NAN}})), UsageError);
  EXPECT_THROW(check_logit_bias({{5, 1.0f}}, 5), Error);
  EXPECT_NO_THROW(check_logit_bias({{4, -INFINITY}}, 5));
}

TEST(Sampler, LogitBiasMovesAndBansTokens) {
  // Greedy: token 1 leads; banning it gives token 3, the next best.
  EXPECT_EQ(Sampler(opts(0.0f, 0, 1.0f, 7, {{1, -INFINITY}})).sample(kLogits), 3);
  // A bias lifts token 2 (-1.0) above all.
  EXPECT_EQ(Sampler(opts(0.0f, 0, 1.0f, 7, {{2, 5.0f}})).sample(kLogits), 2);
  // Sampled: a banned token is never drawn.
  Sampler s(opts(1.0f, 0, 1.0f, 3, {{1, -INFINITY}, {3, -INFINITY}}));
  for (int i = 0; i < 500; ++i) {
    const int32_t t = s.sample(kLogits);
    EXPECT_TRUE(t != 1 && t != 3) << t;
  }
  // Everything banned: an error, not a token.
  std::vector<LogitBias> all;
  for (int32_t id = 0; id < 5; ++id) all.push_back({id, -INFINITY});
  EXPECT_THROW(Sampler(opts(0.0f, 0, 1.0f, 1, all)).sample(kLogits), Error);
  EXPECT_THROW(Sampler(opts(1.0f, 0, 1.0f, 1, all)).sample(kLogits), Error);
  // An id past the logits is an error.
  EXPECT_THROW(Sampler(opts(0.0f, 0, 1.0f, 1, {{5, 1.0f}})).sample(kLogits), Error);
}

}  // namespace
}  // namespace tplm
