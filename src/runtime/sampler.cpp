#include "runtime/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "base/error.hpp"

namespace tplm {

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

Sampler::Sampler(const SamplerOptions& options) : opt_(options), state_(options.seed) {
  if (!(opt_.temperature >= 0.0f) || !std::isfinite(opt_.temperature))
    throw Error("--temp must be a number >= 0 (0 = greedy)");
  if (opt_.top_k < 0) throw Error("--top-k must be >= 0 (0 = no limit)");
  if (!(opt_.top_p > 0.0f && opt_.top_p <= 1.0f))
    throw Error("--top-p must be in (0, 1] (1 = no limit)");
  if (state_ == 0) state_ = 0x9E3779B97F4A7C15ull;  // xorshift must not start at 0
}

float Sampler::next_uniform() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return static_cast<float>((state_ * 0x2545F4914F6CDD1Dull) >> 32 >> 8) / 16777216.0f;
}

int32_t Sampler::sample(std::span<const float> logits) {
  if (opt_.temperature == 0.0f) return argmax(logits);
  const size_t n = logits.size();
  // Candidates by decreasing logit (ties by id, so the order is deterministic).
  std::vector<int32_t> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  size_t keep = opt_.top_k > 0 ? std::min(n, static_cast<size_t>(opt_.top_k)) : n;
  auto by_logit = [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] ||
           (logits[static_cast<size_t>(a)] == logits[static_cast<size_t>(b)] && a < b);
  };
  std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(keep), ids.end(), by_logit);
  ids.resize(keep);

  // p_i = exp((l_i - l_max) / T) / sum: softmax over the kept candidates.
  std::vector<double> p(keep);
  const double lmax = logits[static_cast<size_t>(ids[0])];
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) {
    p[i] = std::exp((logits[static_cast<size_t>(ids[i])] - lmax) / opt_.temperature);
    sum += p[i];
  }
  // Nucleus: the shortest prefix whose mass reaches top_p.
  size_t nucleus = keep;
  double mass = 0;
  for (size_t i = 0; i < keep; ++i) {
    mass += p[i] / sum;
    if (mass >= opt_.top_p) {
      nucleus = i + 1;
      break;
    }
  }
  double total = 0;
  for (size_t i = 0; i < nucleus; ++i) total += p[i];
  const double coin = next_uniform() * total;
  double cdf = 0;
  for (size_t i = 0; i < nucleus; ++i) {
    cdf += p[i];
    if (coin < cdf) return ids[i];
  }
  return ids[nucleus - 1];
}

}  // namespace tplm
