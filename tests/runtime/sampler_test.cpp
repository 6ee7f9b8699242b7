// The sampler: greedy is argmax, top-k 1 and a tiny top-p collapse to it, a
// seed fixes the draws, and the draws follow softmax(logits / T).
#include "runtime/sampler.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "base/error.hpp"

namespace tplm {
namespace {

const std::vector<float> kLogits = {0.5f, 2.0f, -1.0f, 1.5f, 0.0f};

TEST(Sampler, GreedyIsArgmax) {
  Sampler s({0.0f, 0, 1.0f, 7});
  EXPECT_EQ(s.sample(kLogits), 1);
}

TEST(Sampler, TopK1AndTinyTopPAreGreedy) {
  Sampler k1({1.0f, 1, 1.0f, 7}), p0({1.0f, 0, 1e-6f, 7});
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(k1.sample(kLogits), 1);
    EXPECT_EQ(p0.sample(kLogits), 1);
  }
}

TEST(Sampler, SameSeedSameDrawsOtherSeedOtherDraws) {
  Sampler a({1.0f, 0, 1.0f, 42}), b({1.0f, 0, 1.0f, 42}), c({1.0f, 0, 1.0f, 43});
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
  Sampler s({1.0f, 0, 1.0f, 1});
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
  Sampler s({5.0f, 2, 1.0f, 3});
  for (int i = 0; i < 500; ++i) {
    int32_t t = s.sample(kLogits);
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
}

TEST(Sampler, BadOptionsAreErrors) {
  EXPECT_THROW(Sampler({-1.0f, 0, 1.0f, 1}), Error);
  EXPECT_THROW(Sampler({1.0f, -2, 1.0f, 1}), Error);
  EXPECT_THROW(Sampler({1.0f, 0, 0.0f, 1}), Error);
  EXPECT_THROW(Sampler({1.0f, 0, 1.5f, 1}), Error);
}

}  // namespace
}  // namespace tplm
