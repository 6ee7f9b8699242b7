#include "model_config.hpp"

#include <fmt/format.h>

#include "format/format_error.hpp"

namespace tplm {

void ModelConfig::validate(const std::string& file) const {
  auto positive = [&](const char* what, int64_t v) {
    if (v <= 0)
      throw FormatError(file, fmt::format("config has {} = {}: it must be positive", what, v));
  };
  positive("dim", dim);
  positive("ffn_dim", ffn_dim);
  positive("n_layers", n_layers);
  positive("n_heads", n_heads);
  positive("n_kv_heads", n_kv_heads);
  positive("head_dim", head_dim);
  positive("vocab_size", vocab_size);
  positive("context_length", context_length);
  positive("rope_dim", rope_dim);
  if (n_heads % n_kv_heads != 0)
    throw FormatError(file, fmt::format("config has {} attention heads and {} kv heads: the heads "
                                        "must be a multiple of the kv heads",
                                        n_heads, n_kv_heads));
  if (rope_dim > head_dim || rope_dim % 2 != 0)
    throw FormatError(file, fmt::format("config has rope dimension {} for head dimension {}: it "
                                        "must be even and at most the head dimension",
                                        rope_dim, head_dim));
  if (!(rms_eps > 0.0f)) throw FormatError(file, fmt::format("config has rms epsilon {}", rms_eps));
  if (!(rope_theta > 0.0f))
    throw FormatError(file, fmt::format("config has rope theta {}", rope_theta));
}

}  // namespace tplm
