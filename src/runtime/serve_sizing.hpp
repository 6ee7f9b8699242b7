#pragma once
// How many sequences a server runs at once and how many tokens one step
// carries, from the memory of this host (the plan's weights stay; the KV
// cache and the step's activations share what is left):
//   kv_slot   = 2 (K, V) * layers * context * local kv heads * head_dim elements of the
//               plan's kv type (--kv-type: f16 by default on cpu), per rank
//   per_token = the activations of one row of a step, per rank (x, h, o, q, k, v,
//               attention out, gate, up, logits and their gather), 4 bytes each
//   budget    = memory * 0.8 - weights of the ranks on this host
//   slots     = min(asked (16 when not), (budget - step_tokens * per_token) / kv_slot)
// An asked number that does not fit is an Error with the numbers in it.
#include <cstdint>
#include <string>

#include "format/model_file.hpp"
#include "parallel/plan.hpp"

namespace tplm {

struct ServeSizing {
  int64_t slots = 1;
  int64_t step_tokens = 1;
  uint64_t kv_slot_bytes = 0;     // one slot, the ranks on this host together
  uint64_t activation_bytes = 0;  // a full step's, the ranks on this host together
  uint64_t budget_bytes = 0;      // for KV cache and activations
  std::string summary() const;    // one line for the start-up
};

// slots / step_tokens: asked (> 0) or 0 for the default. memory_bytes: what
// this host has for the server (0: not known, no limit but the defaults).
// ranks_here: ranks of the plan in this process's host.
ServeSizing size_serving(const ModelFile& model, const Plan& plan, int64_t context, int64_t slots,
                         int64_t step_tokens, uint64_t memory_bytes, int ranks_here);

// MemAvailable of /proc/meminfo (0 when it cannot be read).
uint64_t host_available_memory();

}  // namespace tplm
