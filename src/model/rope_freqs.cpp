#include "model/rope_freqs.hpp"

#include <cmath>
#include <numbers>

namespace tplm {

namespace {

// Llama 3.1 scaling (Meta's apply_scaling): with wavelen = 2 pi / f,
//   wavelen < original / high_freq_factor  -> f            (high frequencies kept)
//   wavelen > original / low_freq_factor   -> f / factor   (low frequencies stretched)
//   otherwise s = (original / wavelen - low) / (high - low), f' = (1 - s) f / factor + s f
float llama3_scale(float f, const RopeScaling& s) {
  const double original = static_cast<double>(s.original_context);
  const double low_wavelen = original / s.low_freq_factor;
  const double high_wavelen = original / s.high_freq_factor;
  const double wavelen = 2.0 * std::numbers::pi / f;
  if (wavelen < high_wavelen) return f;
  if (wavelen > low_wavelen) return f / s.factor;
  const double smooth =
      (original / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  return static_cast<float>((1.0 - smooth) * f / s.factor + smooth * f);
}

}  // namespace

std::vector<float> rope_inv_freq(const ModelConfig& config) {
  const int64_t half = config.rope_dim / 2;
  std::vector<float> inv_freq(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    // Same float expression as llama2.c's run.c, so the golden logits match bit for bit.
    float f = 1.0f / std::pow(config.rope_theta,
                              static_cast<float>(2 * i) / static_cast<float>(config.rope_dim));
    switch (config.rope_scaling.kind) {
      case RopeScaling::Kind::None:
        break;
      case RopeScaling::Kind::Linear:
        f /= config.rope_scaling.factor;
        break;
      case RopeScaling::Kind::Llama3:
        f = llama3_scale(f, config.rope_scaling);
        break;
    }
    inv_freq[static_cast<size_t>(i)] = f;
  }
  return inv_freq;
}

}  // namespace tplm
