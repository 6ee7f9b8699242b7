#pragma once
// Memory per rank against its device, before anything is loaded (DESIGN.md
// invariant 4). A rank needs
//   its weights + its KV cache at the asked context and kv type (the plan)
//   + its activations for one prefill chunk (Transformer::scratch_bytes)
//   + communicator buffers (tp > 1: one chunk's largest exchange, sent and received).
// A device is a host for cpu ranks, a GPU for cuda ranks. The ranks on one
// device share its budget: their needs are summed against it. So a larger tp
// on the same host never makes a model fit; a smaller context, a smaller kv
// type or more hosts (GPUs) can, and a refusal says which, with the numbers.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "format/model_file.hpp"
#include "parallel/plan.hpp"

namespace tplm {

// What each device holds for this run.
struct MemoryBudget {
  uint64_t per_device = 0;   // bytes; 0: not known, nothing is checked
  int ranks_per_device = 1;  // ranks placed on one device (ranks r*n .. r*n + n - 1 share one)
  std::string source;        // where the figure comes from, e.g. "MemAvailable"
  BackendKind backend = BackendKind::Cpu;
};

struct RankNeed {
  uint64_t weights = 0, kv_cache = 0, activations = 0, buffers = 0;
  uint64_t total() const { return weights + kv_cache + activations + buffers; }
};

struct Capacity {
  std::vector<RankNeed> ranks;        // in rank order
  std::vector<uint64_t> device_need;  // the sum over each device's ranks
  MemoryBudget budget;
  bool fits() const;  // every device's need within its budget (or no budget known)
};

// The needs of a plan's ranks against the budget (pure arithmetic).
Capacity plan_capacity(const ModelFile& model, const Plan& plan, const MemoryBudget& budget);

// Whether tp ranks fit: the plan for tp (false when the shape cannot take it)
// and its capacity. --tp auto calls this for every candidate tp.
bool fits(const ModelFile& model, int tp, const PlanRequest& request, const MemoryBudget& budget);

// Why the plan does not fit, with the numbers and the ways out (a shorter
// context, a smaller kv type, more devices); nullopt when it fits.
std::optional<std::string> capacity_refusal(const ModelFile& model, const Plan& plan,
                                            const MemoryBudget& budget);

// "1.5GiB", "512M", "2G", "1048576": bytes (K, M, G, T in powers of 1024, an
// optional "iB" or "B"). Throws UsageError naming the option otherwise.
uint64_t parse_memory_size(const std::string& text, const std::string& option = "--mem-budget");

// "21.4 GiB", "512.0 MiB", "80.0 KiB", "300 bytes".
std::string memory_text(uint64_t bytes);

}  // namespace tplm
