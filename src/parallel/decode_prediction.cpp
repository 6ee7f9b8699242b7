#include "parallel/decode_prediction.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "base/error.hpp"

namespace tplm {

uint64_t decode_read_bytes(const ModelConfig& config, const RankPlan& rp) {
  uint64_t bytes = rp.weight_bytes;
  if (!config.tied_embeddings)
    for (const TensorSlice& s : rp.slices)
      if (s.id.kind == TensorKind::Embedding) bytes -= s.bytes;
  return bytes;
}

DecodeExchanges decode_exchanges(const ModelConfig& c, const Plan& p) {
  DecodeExchanges e;
  if (p.tp == 1) return e;
  e.all_reduces = 2 * static_cast<int>(c.n_layers) + (p.embedding_vocab_parallel ? 1 : 0);
  e.all_reduce_bytes = static_cast<uint64_t>(c.dim) * sizeof(float);
  e.gathers = 1;
  e.gather_bytes =
      static_cast<uint64_t>(p.tp) * static_cast<uint64_t>(p.vocab_per_rank) * sizeof(float);
  e.broadcasts = 1;
  return e;
}

DecodePrediction predict_decode(const ModelConfig& c, const Plan& p, const SplitSpeed& speed) {
  if (speed.read_bytes_per_s <= 0)
    throw Error(fmt::format("no read bandwidth to predict tp {} with", p.tp));
  DecodePrediction d;
  d.tp = p.tp;
  for (const RankPlan& rp : p.ranks) {
    d.read_bytes_per_rank = std::max(d.read_bytes_per_rank, decode_read_bytes(c, rp));
    d.memory_per_rank = std::max(d.memory_per_rank, rp.weight_bytes + rp.kv_cache_bytes);
  }
  d.compute_s = static_cast<double>(d.read_bytes_per_rank) / speed.read_bytes_per_s;
  const DecodeExchanges e = decode_exchanges(c, p);
  d.exchange_s =
      e.all_reduces * all_reduce_seconds(speed.link, static_cast<double>(e.all_reduce_bytes)) +
      e.gathers * all_reduce_seconds(speed.link, static_cast<double>(e.gather_bytes) / 2) +
      e.broadcasts * speed.link.latency_s;
  d.token_s = d.compute_s + d.exchange_s;
  d.tokens_per_s = d.token_s > 0 ? 1.0 / d.token_s : 0.0;
  d.exchange_share = d.token_s > 0 ? d.exchange_s / d.token_s : 0.0;
  return d;
}

std::vector<std::string> decode_advice(const DecodePrediction& one, const DecodePrediction& asked) {
  std::vector<std::string> out;
  if (asked.tp == 1 || !one.fits || one.tokens_per_s <= asked.tokens_per_s) return out;
  // Each figure names its tp: "slower than tp 1 (X against Y)" read as tp N's X otherwise.
  const std::string speeds = fmt::format("tp 1 {:.1f} against tp {} {:.1f} tokens/s",
                                         one.tokens_per_s, asked.tp, asked.tokens_per_s);
  const double faster = 100.0 * (one.tokens_per_s / asked.tokens_per_s - 1.0);
  // The exchanges are at least half of what the split loses against tp 1 (the
  // rest: a host's bandwidth shared by its ranks, replicated weights): the
  // link is why it is slower.
  if (asked.exchange_s >= 0.5 * (asked.token_s - one.token_s))
    out.push_back(fmt::format(
        "on this link the exchanges would take {:.0f}% of each token; tp {} is predicted slower "
        "than tp 1 ({}); the model fits one device, where it is predicted {:.0f}% faster",
        100.0 * asked.exchange_share, asked.tp, speeds, faster));
  else
    out.push_back(fmt::format(
        "the model fits one device, and tp 1 is predicted {:.0f}% faster than tp {} ({}): its "
        "ranks would share one host's memory bandwidth and read the replicated weights each; "
        "split only where the memory does not fit one device",
        faster, asked.tp, speeds));
  return out;
}

AutoTpChoice choose_tp(const std::vector<DecodePrediction>& candidates) {
  const DecodePrediction* best = nullptr;
  for (const DecodePrediction& d : candidates)
    if (d.fits && (best == nullptr || d.tokens_per_s > best->tokens_per_s * 1.01)) best = &d;
  if (best == nullptr) {
    if (candidates.empty()) throw Error("--tp auto has no tp to choose from");
    throw Error(fmt::format("--tp auto: no tp fits: {}", candidates.front().why_not));
  }
  std::string others;
  for (const DecodePrediction& d : candidates) {
    if (&d == best) continue;
    others += fmt::format(
        "; tp {}: {}", d.tp,
        d.fits ? fmt::format("{:.1f} tokens/s", d.tokens_per_s) : std::string("does not fit"));
  }
  AutoTpChoice c;
  c.tp = best->tp;
  c.reason = fmt::format(
      "--tp auto chose tp {}: the fastest predicted that fits ({:.1f} tokens/s, exchanges {:.0f}% "
      "of each token{})",
      best->tp, best->tokens_per_s, 100.0 * best->exchange_share, others);
  return c;
}

}  // namespace tplm
