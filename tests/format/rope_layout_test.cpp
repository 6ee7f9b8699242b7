#include "format/rope_layout.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace tplm {
namespace {

// The two layouts describe the same rotation. For a head of a weight W (rows = head
// dims), q = W x, and position angle theta_i for pair i:
//   rotate-half:  (q[i], q[i + hd/2]) rotate together
//   interleaved:  (q[2i], q[2i + 1]) rotate together
// So RoPE applied the HF way to W x must equal RoPE applied the interleaved way to
// P(W) x, once the result is read back through the same permutation.
std::vector<float> rope_rotate_half(std::vector<float> q, int64_t hd, float pos) {
  const int64_t half = hd / 2;
  for (int64_t i = 0; i < half; ++i) {
    float th = pos * std::pow(10000.0f, -2.0f * static_cast<float>(i) / static_cast<float>(hd));
    float a = q[i], b = q[i + half];
    q[i] = a * std::cos(th) - b * std::sin(th);
    q[i + half] = a * std::sin(th) + b * std::cos(th);
  }
  return q;
}

std::vector<float> rope_interleaved(std::vector<float> q, int64_t hd, float pos) {
  for (int64_t i = 0; i < hd / 2; ++i) {
    float th = pos * std::pow(10000.0f, -2.0f * static_cast<float>(i) / static_cast<float>(hd));
    float a = q[2 * i], b = q[2 * i + 1];
    q[2 * i] = a * std::cos(th) - b * std::sin(th);
    q[2 * i + 1] = a * std::sin(th) + b * std::cos(th);
  }
  return q;
}

TEST(RopeLayout, PermutedWeightsGiveTheSameRotatedQueries) {
  const int64_t heads = 3, hd = 8, cols = 5;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  std::vector<float> w_hf(heads * hd * cols), x(cols);
  for (auto& v : w_hf) v = nd(rng);
  for (auto& v : x) v = nd(rng);
  std::vector<float> w_il = w_hf;
  rotate_half_to_interleaved(w_il.data(), heads, hd, cols * sizeof(float));
  for (int64_t h = 0; h < heads; ++h) {
    std::vector<float> q_hf(hd), q_il(hd);
    for (int64_t r = 0; r < hd; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        q_hf[r] += w_hf[(h * hd + r) * cols + c] * x[c];
        q_il[r] += w_il[(h * hd + r) * cols + c] * x[c];
      }
    auto a = rope_rotate_half(q_hf, hd, 3.0f);
    auto b = rope_interleaved(q_il, hd, 3.0f);
    // Interleaved position 2i + j holds rotate-half position j * hd/2 + i.
    for (int64_t i = 0; i < hd / 2; ++i)
      for (int64_t j = 0; j < 2; ++j) EXPECT_NEAR(b[2 * i + j], a[j * hd / 2 + i], 1e-4f);
  }
}

TEST(RopeLayout, RoundTripRestoresRows) {
  std::vector<int> v(2 * 6);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int>(i);
  auto orig = v;
  rotate_half_to_interleaved(v.data(), 2, 6, sizeof(int));
  // head 0: rotate-half rows (0,3),(1,4),(2,5) become interleaved pairs.
  EXPECT_EQ((std::vector<int>{0, 3, 1, 4, 2, 5}), std::vector<int>(v.begin(), v.begin() + 6));
  interleaved_to_rotate_half(v.data(), 2, 6, sizeof(int));
  EXPECT_EQ(orig, v);
}

}  // namespace
}  // namespace tplm
