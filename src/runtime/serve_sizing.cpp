#include "runtime/serve_sizing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "model/kv_cache.hpp"

namespace tplm {

namespace {

constexpr int64_t kDefaultSlots = 16;
constexpr int64_t kDefaultStepTokens = 512;

double mib(uint64_t b) {
  return static_cast<double>(b) / 1048576.0;
}

}  // namespace

std::string ServeSizing::summary() const {
  return fmt::format(
      "{} slots (KV cache {:.1f} MiB each), up to {} tokens per step (activations {:.1f} MiB); "
      "memory for them on this host {:.0f} MiB",
      slots, mib(kv_slot_bytes), step_tokens, mib(activation_bytes), mib(budget_bytes));
}

ServeSizing size_serving(const ModelFile& model, const Plan& plan, int64_t context, int64_t slots,
                         int64_t step_tokens, uint64_t memory_bytes, int ranks_here) {
  const ModelConfig& c = model.config;
  const auto here = static_cast<size_t>(std::clamp(ranks_here, 1, plan.tp));
  uint64_t weights = 0, kv_slot = 0, per_token = 0;
  for (size_t r = 0; r < here; ++r) {
    const RankPlan& rp = plan.ranks[r];
    weights += rp.weight_bytes;
    const auto kv_heads = static_cast<int64_t>(rp.kv_heads.size());
    kv_slot += KvCache::slot_bytes(c.n_layers, context, kv_heads, c.head_dim, plan.kv_type);
    const auto floats = 4 * c.dim + static_cast<int64_t>(rp.heads.size()) * c.head_dim * 2 +
                        2 * kv_heads * c.head_dim + 2 * static_cast<int64_t>(rp.ffn.size()) +
                        (1 + plan.tp) * plan.vocab_per_rank;
    per_token += static_cast<uint64_t>(floats) * sizeof(float);
  }
  ServeSizing s;
  s.kv_slot_bytes = kv_slot;
  const uint64_t usable = memory_bytes / 10 * 8;
  s.budget_bytes = usable > weights ? usable - weights : 0;
  s.step_tokens = step_tokens > 0 ? step_tokens : kDefaultStepTokens;
  s.activation_bytes = per_token * static_cast<uint64_t>(s.step_tokens);
  const int64_t want = slots > 0 ? slots : kDefaultSlots;
  if (memory_bytes == 0) {
    s.slots = want;
  } else {
    const uint64_t left =
        s.budget_bytes > s.activation_bytes ? s.budget_bytes - s.activation_bytes : 0;
    const auto fit = static_cast<int64_t>(left / std::max<uint64_t>(kv_slot, 1));
    if (fit < 1 || (slots > 0 && fit < slots))
      throw Error(fmt::format(
          "{} slot{} of {} positions need {:.0f} MiB of KV cache and a step of {} tokens {:.0f} "
          "MiB of activations, but this host has {:.0f} MiB for them after the weights ({:.0f} "
          "MiB); ask for fewer --slots, a shorter -c or a smaller --batch-tokens",
          slots > 0 ? slots : 1, slots > 1 ? "s" : "", context,
          mib(kv_slot * static_cast<uint64_t>(std::max<int64_t>(slots, 1))), s.step_tokens,
          mib(s.activation_bytes), mib(s.budget_bytes), mib(weights)));
    s.slots = std::min(want, fit);
  }
  s.step_tokens = std::max(s.step_tokens, s.slots);  // a decode row for every slot
  s.activation_bytes = per_token * static_cast<uint64_t>(s.step_tokens);
  return s;
}

uint64_t host_available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key;
    uint64_t kib = 0;
    if (ls >> key >> kib && key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

}  // namespace tplm
