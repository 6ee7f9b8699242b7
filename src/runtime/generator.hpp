#pragma once
// The generation loop every rank runs (SPMD): prefill the prompt in one
// forward call, then one position per step. Rank 0 samples and broadcasts the
// token; every rank feeds it, so all ranks stop at the same step.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/transformer.hpp"
#include "parallel/communicator.hpp"
#include "runtime/sampler.hpp"

namespace tplm {

struct GenerateOptions {
  int64_t max_new_tokens = 256;
  int32_t eos_id = -1;  // stop when produced (-1: none)
  int32_t bos_id = -1;  // stop when produced (llama2.c models: -1 otherwise)
  SamplerOptions sampling;
};

struct GenerateResult {
  std::vector<int32_t> generated;  // the stop token excluded
  std::string stop_reason;         // "eos", "bos", "length", "context"
  double prefill_seconds = 0, decode_seconds = 0;
  int64_t decode_steps = 0;  // forward calls after the prefill
};

// on_token(id) is called on rank 0 for every generated token (not the stop token).
GenerateResult generate(Transformer& model, Communicator& comm, const std::vector<int32_t>& prompt,
                        const GenerateOptions& options,
                        const std::function<void(int32_t)>& on_token = {});

}  // namespace tplm
