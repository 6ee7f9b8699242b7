#pragma once
// RoPE inverse frequencies, computed once per model from its configuration:
//   inv_freq[i] = theta^(-2i / rope_dim),  i < rope_dim / 2
// then rescaled as the config says (Linear: / factor; Llama 3: long
// wavelengths / factor, short ones kept, a smooth blend between).
#include <vector>

#include "format/model_config.hpp"

namespace tplm {

std::vector<float> rope_inv_freq(const ModelConfig& config);

}  // namespace tplm
