#pragma once
// How fast a split is predicted to decode, before anything is loaded, and
// what to tell the user about it. Pure arithmetic on the plan and measured
// figures (the host's read bandwidth, the link's cost):
//
//   token time = compute + exchanges
//   compute    = weight bytes a rank reads per token / its read bandwidth
//                (the slowest rank: decode reads every weight once per token)
//   exchanges  = sum over the token's exchanges of latency + bytes / bandwidth
//
// A decode token's exchanges (tp > 1): one all-reduce of dim floats after
// each row-parallel layer (2 per layer) and after a vocab-parallel embedding,
// one all-gather of the vocab-parallel logits (vocab_per_rank floats per
// rank), and rank 0's step broadcast (a few bytes: latency only). A ring
// all-reduce is a reduce-scatter then an all-gather, so a gather of S bytes
// moves half of what an all-reduce of S bytes moves: it is costed as an
// all-reduce of S / 2.
#include <cstdint>
#include <string>
#include <vector>

#include "format/model_config.hpp"
#include "parallel/link_cost.hpp"
#include "parallel/plan.hpp"

namespace tplm {

// The weight bytes rank rp reads per decode step: all of its slices but the
// embedding table, of which a step reads one row (unless it is also the LM head).
uint64_t decode_read_bytes(const ModelConfig& config, const RankPlan& rp);

struct DecodeExchanges {
  int all_reduces = 0;  // of all_reduce_bytes each
  uint64_t all_reduce_bytes = 0;
  int gathers = 0;  // of gather_bytes gathered (every rank's part together)
  uint64_t gather_bytes = 0;
  int broadcasts = 0;  // rank 0's step descriptor: a few bytes
};
// None at tp = 1.
DecodeExchanges decode_exchanges(const ModelConfig& config, const Plan& plan);

// What the machine gives one split: each rank's read bandwidth (ranks on one
// host share its bandwidth: host bandwidth / ranks on the host) and the link.
struct SplitSpeed {
  double read_bytes_per_s = 0;  // per rank
  LinkCost link;
};

struct DecodePrediction {
  int tp = 1;
  uint64_t read_bytes_per_rank = 0;  // the most any rank reads per token
  uint64_t memory_per_rank = 0;      // the most any rank needs (weights + KV cache)
  double compute_s = 0;
  double exchange_s = 0;
  double token_s = 0;
  double tokens_per_s = 0;
  double exchange_share = 0;  // exchange_s / token_s
  bool fits = true;           // the memory check's verdict (the caller's)
  std::string why_not;        // when !fits: the memory check's reason
};

// Throws Error when speed.read_bytes_per_s <= 0.
DecodePrediction predict_decode(const ModelConfig& config, const Plan& plan,
                                const SplitSpeed& speed);

// What to tell a user who asked for `tp` (one line each; none when there is
// nothing to say), given the predictions of tp 1 and of tp. When tp 1 fits
// and is predicted faster:
//  - the exchanges are why (at least half of the time it loses): "on
//    this link the exchanges would take 72% of each token; tp 2 is predicted
//    slower than tp 1 (14.0 against 10.0 tokens/s); the model fits one
//    device, where it is predicted 40% faster";
//  - otherwise (ranks sharing one host's bandwidth, replicated weights): "the
//    model fits one device, and tp 1 is predicted 40% faster than tp 2 ...".
std::vector<std::string> decode_advice(const DecodePrediction& tp1, const DecodePrediction& asked);

// --tp auto: the fastest predicted among those that fit (the smaller tp on a
// tie within 1%), with the reason in words. Throws Error when none fits
// (naming the first one's reason).
struct AutoTpChoice {
  int tp = 1;
  std::string reason;
};
AutoTpChoice choose_tp(const std::vector<DecodePrediction>& candidates);

}  // namespace tplm
