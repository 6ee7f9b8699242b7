#pragma once
// Option values of the `tplm` command line that need more than CLI11's
// conversions, each checked before anything is opened (UsageError).
#include <cstdint>
#include <string>

#include "runtime/sampler.hpp"

namespace tplm {

// llama.cpp's --logit-bias TOKEN_ID(+|-)BIAS: "15043+1", "15043-0.5", "0-inf" (bans token 0).
LogitBias parse_logit_bias(const std::string& text);

// --seed: a number >= 0 is the seed; -1 (llama.cpp's spelling) draws one at
// random (below 2^32, so that --seed can give it back).
uint64_t seed_from_option(const std::string& text);

// --tp N | auto: the number of ranks, or 0 for auto (the fastest predicted
// tp that fits). Anything else than 1..kMaxTp or auto is a UsageError.
constexpr int kTpAuto = 0;
int parse_tp_option(const std::string& text);

// -f FILE: the prompt in a file, "-" for stdin, without one trailing newline
// (as llama.cpp reads it). Throws Error when it cannot be read.
std::string read_prompt_file(const std::string& path);

}  // namespace tplm
