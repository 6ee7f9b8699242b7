#include "runtime/capacity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include "model/transformer.hpp"
#include "runtime/generator.hpp"
#include "runtime/shard_loader.hpp"
#include "runtime/usage_error.hpp"

namespace tplm {

namespace {

const char* device_word(const MemoryBudget& b) {
  return b.backend == BackendKind::Cuda ? "GPU" : "host";
}

int ranks_per_device(const MemoryBudget& b, int tp) {
  return std::clamp(b.ranks_per_device, 1, std::max(1, tp));
}

// The capacity of the same request at another tp or kv type, with ranks on
// `per_device` ranks a device; nullopt when the shape cannot take it.
std::optional<Capacity> capacity_for(const ModelFile& m, int tp, PlanRequest req,
                                     MemoryBudget budget, int per_device) {
  if (!plan_violations(m, tp, {}, req).empty()) return std::nullopt;
  budget.ranks_per_device = per_device;
  return plan_capacity(m, make_plan(m, tp, {}, req), budget);
}

uint64_t worst_device(const Capacity& c) {
  return c.device_need.empty() ? 0 : *std::max_element(c.device_need.begin(), c.device_need.end());
}

uint64_t worst_rank(const Capacity& c) {
  uint64_t w = 0;
  for (const RankNeed& r : c.ranks) w = std::max(w, r.total());
  return w;
}

// The longest context (a multiple of 256 when it is that long) at which the
// worst device fits, or 0: the KV cache grows linearly with the context.
int64_t context_that_fits(const Plan& p, const Capacity& c, size_t device) {
  const int n = ranks_per_device(c.budget, p.tp);
  uint64_t kv = 0;
  const size_t first = device * static_cast<size_t>(n);
  for (size_t r = first; r < c.ranks.size() && r < first + static_cast<size_t>(n); ++r)
    kv += c.ranks[r].kv_cache;
  const uint64_t fixed = c.device_need[device] - kv;
  if (p.context <= 0 || kv == 0 || fixed >= c.budget.per_device) return 0;
  const uint64_t per_position = kv / static_cast<uint64_t>(p.context);
  auto ctx =
      static_cast<int64_t>((c.budget.per_device - fixed) / std::max<uint64_t>(1, per_position));
  if (ctx >= 256) ctx -= ctx % 256;
  return ctx < p.context ? ctx : 0;
}

}  // namespace

bool Capacity::fits() const {
  if (budget.per_device == 0) return true;
  return std::all_of(device_need.begin(), device_need.end(),
                     [&](uint64_t n) { return n <= budget.per_device; });
}

Capacity plan_capacity(const ModelFile& m, const Plan& p, const MemoryBudget& budget) {
  Capacity c;
  c.budget = budget;
  const int64_t chunk = std::min(kPrefillChunk, std::max<int64_t>(1, p.context));
  for (int r = 0; r < p.tp; ++r) {
    const RankPlan& rp = p.ranks[static_cast<size_t>(r)];
    RankNeed n;
    n.weights = rp.weight_bytes;
    n.kv_cache = rp.kv_cache_bytes;
    n.activations = Transformer::scratch_bytes(m.config, shard_shape(p, r), p.tp, chunk);
    // The largest exchange of a chunk: the residual stream's all-reduce or
    // the logits' gather, staged once to send and once to receive.
    if (p.tp > 1)
      n.buffers = 2 * static_cast<uint64_t>(chunk) * sizeof(float) *
                  static_cast<uint64_t>(std::max(m.config.dim, p.tp * p.vocab_per_rank));
    c.ranks.push_back(n);
  }
  const int per = ranks_per_device(budget, p.tp);
  for (int r = 0; r < p.tp; ++r) {
    if (r % per == 0) c.device_need.push_back(0);
    c.device_need.back() += c.ranks[static_cast<size_t>(r)].total();
  }
  return c;
}

bool fits(const ModelFile& m, int tp, const PlanRequest& request, const MemoryBudget& budget) {
  const auto c = capacity_for(m, tp, request, budget, ranks_per_device(budget, tp));
  return c && c->fits();
}

std::optional<std::string> capacity_refusal(const ModelFile& m, const Plan& p,
                                            const MemoryBudget& budget) {
  const Capacity c = plan_capacity(m, p, budget);
  if (c.fits()) return std::nullopt;
  const int per = ranks_per_device(budget, p.tp);
  size_t dev = 0;
  for (size_t d = 0; d < c.device_need.size(); ++d)
    if (c.device_need[d] > c.device_need[dev]) dev = d;
  const auto first = static_cast<int>(dev) * per;
  const int last = std::min(p.tp, first + per) - 1;
  int worst = first;
  for (int r = first; r <= last; ++r)
    if (c.ranks[static_cast<size_t>(r)].total() > c.ranks[static_cast<size_t>(worst)].total())
      worst = r;
  const RankNeed& w = c.ranks[static_cast<size_t>(worst)];
  const std::string parts =
      fmt::format("weights {}, KV cache {} for {} positions as {}, activations {}, buffers {}",
                  memory_text(w.weights), memory_text(w.kv_cache), p.context,
                  kv_type_name(p.kv_type), memory_text(w.activations), memory_text(w.buffers));
  const char* word = device_word(budget);
  std::string msg =
      first == last
          ? fmt::format("rank {} needs {} ({}); its {} has {} available ({})", worst,
                        memory_text(w.total()), parts, word, memory_text(budget.per_device),
                        budget.source)
          : fmt::format(
                "ranks {}..{} share one {} and need {} together (rank {}: {} = {}); it "
                "has {} available ({})",
                first, last, word, memory_text(c.device_need[dev]), worst, memory_text(w.total()),
                parts, memory_text(budget.per_device), budget.source);
  // Ways out: what shrinks this device's need, then more devices. A larger tp
  // on the same device is never one: its ranks share the same memory.
  std::vector<std::string> ways;
  PlanRequest req{p.split, p.context, p.kv_type};
  if (const int64_t ctx = context_that_fits(p, c, dev); ctx > 0)
    ways.push_back(fmt::format("-c {}", ctx));
  for (KvType t : {KvType::F16, KvType::Q8_0}) {
    if (kv_row_bytes(t, 1, 32) >= kv_row_bytes(p.kv_type, 1, 32)) continue;
    PlanRequest smaller = req;
    smaller.kv_type = t;
    if (const auto k = capacity_for(m, p.tp, smaller, budget, per); k && k->fits()) {
      ways.push_back(fmt::format("--kv-type {} ({} a {})", kv_type_name(t),
                                 memory_text(worst_device(*k)), word));
      break;
    }
  }
  req.split.clear();
  for (int tp : valid_tp_values(m)) {
    if (tp <= p.tp) continue;
    const auto k = capacity_for(m, tp, req, budget, 1);
    if (!k || !k->fits()) continue;
    ways.push_back(fmt::format("--tp {} over {} {}s, one rank each ({} per rank)", tp, tp, word,
                               memory_text(worst_rank(*k))));
    break;
  }
  if (ways.empty())
    return msg + "; no shorter context, kv type or number of " + word + "s up to " +
           std::to_string(kMaxTp) + " makes it fit";
  msg += "; use ";
  for (size_t i = 0; i < ways.size(); ++i)
    msg += (i == 0 ? "" : i + 1 == ways.size() ? ", or " : ", ") + ways[i];
  return msg;
}

uint64_t parse_memory_size(const std::string& text, const std::string& option) {
  const auto bad = [&] {
    return UsageError(fmt::format(
        "{} {}: not a size; give a number of bytes with K, M, G or T (powers of 1024), e.g. "
        "512M, 2G, 1.5GiB",
        option, text));
  };
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    throw bad();
  }
  std::string unit = text.substr(used);
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  if (unit.size() > 1 && (unit.ends_with("IB") || unit.ends_with("B")))
    unit = unit.substr(0, unit.size() - (unit.ends_with("IB") ? 2 : 1));
  else if (unit == "B")
    unit.clear();
  const std::string units = "KMGT";
  double scale = 1;
  if (unit.size() == 1 && units.find(unit[0]) != std::string::npos)
    scale = std::pow(1024.0, static_cast<double>(units.find(unit[0]) + 1));
  else if (!unit.empty())
    throw bad();
  const double bytes = v * scale;
  if (!std::isfinite(bytes) || bytes < 1 || bytes > 1e18)
    throw UsageError(
        fmt::format("{} {} is out of range; give a size above 0, e.g. 512M or 2G", option, text));
  return static_cast<uint64_t>(bytes);
}

std::string memory_text(uint64_t bytes) {
  const auto b = static_cast<double>(bytes);
  if (bytes >= (1ull << 30)) return fmt::format("{:.1f} GiB", b / (1ull << 30));
  if (bytes >= (1ull << 20)) return fmt::format("{:.1f} MiB", b / (1ull << 20));
  if (bytes >= (1ull << 10)) return fmt::format("{:.1f} KiB", b / (1ull << 10));
  return fmt::format("{} bytes", bytes);
}

}  // namespace tplm
