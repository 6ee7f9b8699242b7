#include "runtime/sampler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "base/error.hpp"
#include "runtime/usage_error.hpp"

namespace tplm {

void check_sampler_options(const SamplerOptions& o) {
  if (!(o.temperature >= 0.0f) || !std::isfinite(o.temperature))
    throw UsageError(
        fmt::format("--temp {} is out of range; use a number >= 0 (0 = greedy)", o.temperature));
  if (o.top_k < 0)
    throw UsageError(
        fmt::format("--top-k {} is out of range; use a number >= 0 (0 = no limit)", o.top_k));
  if (!(o.top_p > 0.0f && o.top_p <= 1.0f))
    throw UsageError(
        fmt::format("--top-p {} is out of range; use a number in (0, 1] (1 = no limit)", o.top_p));
  for (const LogitBias& b : o.logit_bias) {
    if (b.token < 0)
      throw UsageError(fmt::format("--logit-bias: token id {} is negative", b.token));
    if (std::isnan(b.bias) || b.bias == std::numeric_limits<float>::infinity())
      throw UsageError(fmt::format(
          "--logit-bias {}: the bias must be a finite number or -inf (which bans the token)",
          b.token));
  }
}

void check_logit_bias(const std::vector<LogitBias>& bias, int64_t vocab) {
  for (const LogitBias& b : bias)
    if (b.token >= vocab)
      throw Error(fmt::format("--logit-bias {}: token {} is not in the vocabulary of {} tokens",
                              b.token, b.token, vocab));
}

// std::max_element's answer (the first largest), 5x faster on a vocabulary:
// the maximum over 16 lanes (m = v > m ? v : m compiles to vector max
// instructions), then the first logit equal to it. A NaN stuck in a lane
// would hide that lane's later values, so NaN logits take max_element itself.
int32_t argmax(std::span<const float> logits) {
  constexpr size_t kLanes = 16;
  const size_t n = logits.size();
  const auto first_largest = [&] {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  };
  if (n < kLanes) return first_largest();
  float m[kLanes];
  std::copy_n(logits.begin(), kLanes, m);
  size_t i = kLanes;
  for (; i + kLanes <= n; i += kLanes)
    for (size_t j = 0; j < kLanes; ++j) m[j] = logits[i + j] > m[j] ? logits[i + j] : m[j];
  float best = m[0];
  for (size_t j = 0; j < kLanes; ++j) {
    if (std::isnan(m[j])) return first_largest();
    best = m[j] > best ? m[j] : best;
  }
  for (; i < n; ++i) best = logits[i] > best ? logits[i] : best;
  const auto at = std::find(logits.begin(), logits.end(), best);
  return static_cast<int32_t>(at - logits.begin());
}

Sampler::Sampler(const SamplerOptions& options) : opt_(options), state_(options.seed) {
  check_sampler_options(opt_);
  if (state_ == 0) state_ = 0x9E3779B97F4A7C15ull;  // xorshift must not start at 0
}

float Sampler::next_uniform() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return static_cast<float>((state_ * 0x2545F4914F6CDD1Dull) >> 32 >> 8) / 16777216.0f;
}

int32_t Sampler::sample(std::span<const float> logits_in) {
  std::span<const float> logits = logits_in;
  if (!opt_.logit_bias.empty()) {
    biased_.assign(logits_in.begin(), logits_in.end());
    for (const LogitBias& b : opt_.logit_bias) {
      if (static_cast<size_t>(b.token) >= biased_.size())
        throw Error(fmt::format("--logit-bias {}: token {} is not in the vocabulary of {} tokens",
                                b.token, b.token, biased_.size()));
      biased_[static_cast<size_t>(b.token)] += b.bias;
    }
    logits = biased_;
  }
  if (opt_.temperature == 0.0f) {
    const int32_t best = argmax(logits);
    if (std::isinf(logits[static_cast<size_t>(best)]) && logits[static_cast<size_t>(best)] < 0)
      throw Error("--logit-bias bans every token; nothing to sample");
    return best;
  }
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
  if (std::isinf(lmax) && lmax < 0) throw Error("--logit-bias bans every token; nothing to sample");
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
