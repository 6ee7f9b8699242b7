#pragma once
// The plan: a pure function of (model configuration, tensors, tp) that says
// which slice of every tensor each rank owns and how many bytes it needs.
// Nothing is allocated or loaded before the plan has said yes.
//
// The split of one layer (Megatron's meaning: the column is the output feature):
//   column-parallel  Q, K, V, gate, up:   rank r owns output rows   [begin_r, end_r) of W[out, in]
//   row-parallel     O, down:             rank r owns input columns [begin_r, end_r) of W[out, in]
//   vocab-parallel   embedding, LM head:  rank r owns vocabulary rows [begin_r, end_r)
//   replicated       norms (and the embedding when the plan chooses so)
// Attention heads are whole on each rank. With tp <= n_kv_heads the kv heads
// are dealt out, unevenly when tp does not divide them (4 kv heads at tp 3:
// 2, 1, 1), each with the query heads that read it (8 heads: 4, 2, 2). With
// tp > n_kv_heads (a multiple of it) each kv head is replicated on
// tp / n_kv_heads ranks and a rank keeps only the query heads that read its
// kv head. --split ratios weight the kv heads, FFN columns and vocabulary rows.
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/range.hpp"
#include "format/kv_type.hpp"
#include "format/model_file.hpp"
#include "format/tensor_read.hpp"

namespace tplm {

// The largest world tplm plans for.
constexpr int kMaxTp = 64;

enum class SplitKind : uint8_t { Replicated, Column, Row, Vocab };
std::string_view split_kind_name(SplitKind k);

// One rank's slice of one tensor: rows x cols of its [rows, cols] shape
// (a 1-D tensor has one row).
struct TensorSlice {
  std::string name;
  TensorId id;  // what the tensor contract says it is
  SplitKind kind = SplitKind::Replicated;
  Range rows;
  Range cols;
  uint64_t bytes = 0;
};

struct RankPlan {
  int rank = 0;
  Range heads;     // query heads [begin, end)
  Range kv_heads;  // kv heads [begin, end)
  Range ffn;       // FFN columns (gate/up rows, down columns)
  Range vocab;     // vocabulary rows of the LM head (and embedding when vocab-parallel):
                   // even split: [r * vocab_per_rank, (r + 1) * vocab_per_rank) cut at the
                   // vocabulary's end; --split: in proportion to the ratios
  std::vector<TensorSlice> slices;  // every tensor of the model, in ModelFile order
  uint64_t weight_bytes = 0;        // sum of slices' bytes
  uint64_t kv_cache_bytes = 0;      // K and V at the asked context and kv type, all layers
  const TensorSlice& slice(std::string_view name) const;  // throws Error if absent
};

struct Plan {
  int tp = 1;
  int kv_replication = 1;  // ranks sharing one kv head (tp / n_kv_heads when tp > n_kv_heads)
  bool embedding_vocab_parallel = true;
  // Vocabulary rows per rank in the logits gather: every rank sends this many
  // (one count, as NCCL's all-gather needs); a rank with fewer real rows pads
  // the end with scores that are never read. The gathered logits are then the
  // vocabulary in order, followed by the padding.
  int64_t vocab_per_rank = 0;    // the largest rank's vocabulary rows
  std::string embedding_reason;  // why the plan split or replicated the embedding
  std::vector<double> split;     // the ratios asked for (--split); empty: equal shares
  int64_t context = 0;           // KV cache positions the kv_cache_bytes are for
  KvType kv_type = KvType::F32;  // how the KV cache stores its rows
  std::vector<RankPlan> ranks;
  uint64_t total_weight_bytes = 0;       // the model's weights, unsplit
  uint64_t replicated_weight_bytes = 0;  // bytes every rank holds a copy of
  std::vector<std::string> warnings;     // e.g. more CPU ranks than cores
};

// What the machine can run: ranks beyond `cores` are a warning (CPU threads),
// ranks beyond `devices` an error (GPUs; 0 = no device limit).
struct PlanLimits {
  int cores = 0;    // 0: do not check
  int devices = 0;  // 0: do not check
  // Memory is not the plan's to check: runtime/capacity.hpp weighs each rank's
  // whole need against its device, with ranks that share a host together.
};

// What the user asked beyond tp.
struct PlanRequest {
  std::vector<double> split;     // --split: one ratio (> 0) per rank; empty: equal shares
  int64_t context = 0;           // KV cache positions; 0: the model's context length
  KvType kv_type = KvType::F32;  // --kv-type
};

// All the reasons tp cannot split this model (empty when it can).
std::vector<std::string> plan_violations(const ModelFile& model, int tp, const PlanLimits& limits,
                                         const PlanRequest& request = {});
// Every tp in 1..64 with no violation from the model's shape alone.
std::vector<int> valid_tp_values(const ModelFile& model);

class PlanError : public Error {
 public:
  using Error::Error;
};

// The plan for tp ranks, or PlanError listing every violation at once and the
// valid tp values, e.g. "tp 5 cannot split this model: 5 ranks are more than
// the 4 kv heads and not a multiple of them; valid tp: 1, 2, 3, 4, 8".
Plan make_plan(const ModelFile& model, int tp, const PlanLimits& limits = {},
               const PlanRequest& request = {});

}  // namespace tplm
