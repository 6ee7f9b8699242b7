// The plan: who owns which slice of every tensor, and what it costs.
//
// Heads are whole on a rank and dealt out by kv head: query head h reads kv
// head h / G (G = H / KV). With tp <= KV rank r owns kv heads [k_r, k_r+1)
// (split_weighted: even, the first KV % tp ranks one more, or by --split) and
// query heads [k_r * G, k_r+1 * G): exactly the ones that read them. With
// tp > KV (tp % KV == 0) each kv head is replicated on rep = tp / KV ranks,
// rank r owns kv head r / rep and its share (split_range over rep) of that
// head's G query heads.
// FFN columns and vocabulary rows may split unevenly (split_weighted); a
// quantized tensor is cut along its input dimension only at block boundaries.
#include "parallel/plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <span>

#include "format/dtype.hpp"
#include "parallel/split_range.hpp"

namespace tplm {

std::string_view split_kind_name(SplitKind k) {
  switch (k) {
    case SplitKind::Replicated:
      return "replicated";
    case SplitKind::Column:
      return "column";
    case SplitKind::Row:
      return "row";
    case SplitKind::Vocab:
      return "vocab";
  }
  return "?";
}

const TensorSlice& RankPlan::slice(std::string_view name) const {
  for (const TensorSlice& s : slices)
    if (s.name == name) return s;
  throw Error(fmt::format("rank {} has no slice of tensor {}", rank, name));
}

namespace {

using Role = SplitRole;

// What a tensor is to the split: the contract's role (tensors outside the
// contract are carried whole).
Role role_of(const TensorInfo& t) {
  return t.id.kind == TensorKind::Unknown ? Role::Replicated : tensor_spec(t.id.kind).role;
}

// The largest quantization block among the tensors of a role: the unit in
// which their input columns may be cut.
int64_t input_block(const ModelFile& m, Role role) {
  int64_t unit = 1;
  for (const TensorInfo& t : m.tensors)
    if (role_of(t) == role) unit = std::max(unit, dtype_traits(t.dtype).block_elems);
  return unit;
}

const TensorInfo* first_of(const ModelFile& m, Role role) {
  for (const TensorInfo& t : m.tensors)
    if (role_of(t) == role) return &t;
  return nullptr;
}

std::string join_ints(const std::vector<int>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s;
}

// Query and kv heads of rank r (tp passed the kv-head checks). tp <= KV: the
// kv heads dealt out by the ratios, each with its group = H / KV query heads.
// tp > KV: rep = tp / KV ranks share kv head r / rep and split its group.
void deal_heads(const ModelConfig& c, int tp, int r, std::span<const double> split, RankPlan& rp) {
  const int64_t group = c.n_heads / c.n_kv_heads;
  if (tp <= c.n_kv_heads) {
    rp.kv_heads = split_weighted(c.n_kv_heads, 1, r, tp, split);
    rp.heads = {rp.kv_heads.begin * group, rp.kv_heads.end * group};
    return;
  }
  const int rep = tp / static_cast<int>(c.n_kv_heads);
  const int64_t kv = r / rep;
  const Range sub = split_range(group, r % rep, rep);
  rp.kv_heads = {kv, kv + 1};
  rp.heads = {kv * group + sub.begin, kv * group + sub.end};
}

// Vocabulary rows of rank r: equal shares of ceil(V / tp) rows (the last rank
// short), or in proportion to the ratios.
Range vocab_rows(int64_t vocab, int tp, int r, std::span<const double> split) {
  if (!split.empty()) return split_weighted(vocab, 1, r, tp, split);
  const int64_t vp = (vocab + tp - 1) / tp;
  return {std::min(r * vp, vocab), std::min((r + 1) * vp, vocab)};
}

// The ranges of rank r (assumes the kv-head and FFN-width checks passed).
RankPlan rank_ranges(const ModelFile& m, int tp, int r, const PlanRequest& req) {
  const ModelConfig& c = m.config;
  RankPlan rp;
  rp.rank = r;
  deal_heads(c, tp, r, req.split, rp);
  rp.ffn = split_weighted(c.ffn_dim, input_block(m, Role::FfnCols), r, tp, req.split);
  rp.vocab = vocab_rows(c.vocab_size, tp, r, req.split);
  const int64_t context = req.context > 0 ? req.context : c.context_length;
  rp.kv_cache_bytes = 2ull * static_cast<uint64_t>(c.n_layers) * static_cast<uint64_t>(context) *
                      kv_row_bytes(req.kv_type, rp.kv_heads.size(), c.head_dim);
  return rp;
}

// Reasons the kv heads cannot be dealt to tp ranks.
std::vector<std::string> head_violations(const ModelConfig& c, int tp) {
  if (tp <= c.n_kv_heads) return {};
  if (tp % c.n_kv_heads)
    return {fmt::format("{} ranks are more than the {} kv heads and not a multiple of them", tp,
                        c.n_kv_heads)};
  const int64_t group = c.n_heads / c.n_kv_heads, rep = tp / c.n_kv_heads;
  if (group < rep)
    return {
        fmt::format("each of the {} kv heads is read by {} query heads, fewer than the {} "
                    "ranks that would share it",
                    c.n_kv_heads, group, rep)};
  return {};
}

// Reasons tp cannot split this model's shape (no machine limits).
std::vector<std::string> shape_violations(const ModelFile& m, int tp,
                                          std::span<const double> split = {}) {
  const ModelConfig& c = m.config;
  if (tp < 1 || tp > kMaxTp) return {fmt::format("tp must be between 1 and {}", kMaxTp)};
  if (c.n_heads <= 0 || c.n_kv_heads <= 0 || c.head_dim <= 0 || c.n_heads % c.n_kv_heads)
    return {fmt::format("the model has {} attention heads, {} kv heads and head_dim {}", c.n_heads,
                        c.n_kv_heads, c.head_dim)};
  if (!split.empty() && split.size() != static_cast<size_t>(tp))
    return {fmt::format("--split has {} ratios but tp is {}; give one ratio per rank", split.size(),
                        tp)};
  std::vector<std::string> v = head_violations(c, tp);
  const int64_t ffn_unit = input_block(m, Role::FfnCols);
  if (c.ffn_dim % ffn_unit)
    v.push_back(
        fmt::format("ffn_down is quantized in blocks of {} but the FFN width {} is not a "
                    "multiple of {}",
                    ffn_unit, c.ffn_dim, ffn_unit));
  else if (c.ffn_dim / ffn_unit < tp)
    v.push_back(ffn_unit == 1
                    ? fmt::format("the FFN width {} leaves some of {} ranks empty", c.ffn_dim, tp)
                    : fmt::format("the FFN width {} has {} blocks of {} (quantized ffn_down), "
                                  "fewer than {} ranks",
                                  c.ffn_dim, c.ffn_dim / ffn_unit, ffn_unit, tp));
  if (c.vocab_size < tp)
    v.push_back(
        fmt::format("the vocabulary of {} leaves some of {} ranks empty", c.vocab_size, tp));
  if (!v.empty()) return v;
  // Every rank's share: the ratios may leave one empty; a rank's heads must be
  // whole blocks of attn_output's input columns.
  const TensorInfo* wo = first_of(m, Role::OutHeads);
  const int64_t wo_unit = input_block(m, Role::OutHeads);
  for (int r = 0; r < tp; ++r) {
    const RankPlan rp = rank_ranges(m, tp, r, {{split.begin(), split.end()}, 1, KvType::F32});
    if (rp.kv_heads.size() == 0 || rp.ffn.size() == 0 || rp.vocab.size() == 0) {
      v.push_back(fmt::format(
          "--split leaves rank {} with {} kv heads, {} FFN columns and {} vocabulary rows; give "
          "it a larger ratio",
          r, rp.kv_heads.size(), rp.ffn.size(), rp.vocab.size()));
      break;
    }
    const int64_t cols = rp.heads.size() * c.head_dim;
    if (wo && cols % wo_unit) {
      v.push_back(fmt::format(
          "attn_output is {} (blocks of {}) but rank {}'s {} heads x {} dims = {} input columns "
          "are not a whole number of blocks",
          dtype_name(wo->dtype), wo_unit, r, rp.heads.size(), c.head_dim, cols));
      break;
    }
  }
  return v;
}

// Rank rp's slice of t; a range past the tensor's extent is a problem.
TensorSlice slice_of(const TensorInfo& t, const RankPlan& rp, const ModelConfig& c,
                     bool embedding_split, std::vector<std::string>& problems) {
  TensorSlice s;
  s.name = t.name;
  s.id = t.id;
  s.rows = {0, t.rows()};
  s.cols = {0, t.cols()};
  const bool vec = t.shape.size() <= 1;
  Range* out_dim = vec ? &s.cols : &s.rows;  // a bias's elements are its output features
  const Range heads{rp.heads.begin * c.head_dim, rp.heads.end * c.head_dim};
  const Range kv{rp.kv_heads.begin * c.head_dim, rp.kv_heads.end * c.head_dim};
  switch (role_of(t)) {
    case Role::QHeads:
      s.kind = SplitKind::Column, *out_dim = heads;
      break;
    case Role::KvHeads:
      s.kind = SplitKind::Column, *out_dim = kv;
      break;
    case Role::OutHeads:
      s.kind = SplitKind::Row, s.cols = heads;
      break;
    case Role::FfnRows:
      s.kind = SplitKind::Column, *out_dim = rp.ffn;
      break;
    case Role::FfnCols:
      s.kind = SplitKind::Row, s.cols = rp.ffn;
      break;
    case Role::Vocab:
      s.kind = SplitKind::Vocab, *out_dim = rp.vocab;
      break;
    case Role::Embedding:
      if (embedding_split) s.kind = SplitKind::Vocab, *out_dim = rp.vocab;
      break;
    case Role::Replicated:
      break;
  }
  if (s.rows.end > t.rows() || s.cols.end > t.cols())
    problems.push_back(fmt::format(
        "{} has shape [{} x {}] but rank {} owns rows [{}, {}) x cols "
        "[{}, {}) of it",
        t.name, t.rows(), t.cols(), rp.rank, s.rows.begin, s.rows.end, s.cols.begin, s.cols.end));
  s.bytes = TensorReader::block_bytes(t, s.rows, s.cols);
  return s;
}

uint64_t whole_bytes(const TensorInfo& t) {
  return TensorReader::block_bytes(t, {0, t.rows()}, {0, t.cols()});
}

// Replicate the embedding when a copy per rank is cheap (under 1% of a rank's
// weights): it saves the all-reduce of the lookup on every step.
void decide_embedding(const ModelFile& m, int tp, uint64_t total, Plan& p) {
  const TensorInfo* emb = first_of(m, Role::Embedding);
  if (!emb) {
    p.embedding_reason = "the model has no token_embd.weight";
    return;
  }
  const uint64_t table = whole_bytes(*emb), per_rank = total / static_cast<uint64_t>(tp);
  const double pct =
      per_rank ? 100.0 * static_cast<double>(table) / static_cast<double>(per_rank) : 100.0;
  if (tp == 1) {
    p.embedding_vocab_parallel = true;
    p.embedding_reason = "tp 1: the one rank holds the whole table";
  } else if (pct < 1.0) {
    p.embedding_vocab_parallel = false;
    p.embedding_reason = fmt::format(
        "replicated: the table ({} bytes) is {:.2f}% of a rank's ~{} bytes, under 1%, so a copy "
        "per rank saves one all-reduce per step",
        table, pct, per_rank);
  } else {
    p.embedding_vocab_parallel = true;
    p.embedding_reason = fmt::format(
        "vocab-parallel: the table ({} bytes) is {:.1f}% of a rank's ~{} bytes (1% or more), so "
        "splitting it saves {} bytes per rank for one all-reduce per step",
        table, pct, per_rank, table - table / static_cast<uint64_t>(tp));
  }
}

// The plan for a shape that passed shape_violations; problems collects
// tensors whose shape disagrees with the configuration.
Plan build_plan(const ModelFile& m, int tp, const PlanRequest& req,
                std::vector<std::string>& problems) {
  Plan p;
  p.tp = tp;
  p.split = req.split;
  p.context = req.context > 0 ? req.context : m.config.context_length;
  p.kv_type = req.kv_type;
  p.kv_replication = tp > m.config.n_kv_heads ? tp / static_cast<int>(m.config.n_kv_heads) : 1;
  for (const TensorInfo& t : m.tensors) p.total_weight_bytes += whole_bytes(t);
  decide_embedding(m, tp, p.total_weight_bytes, p);
  for (int r = 0; r < tp; ++r) {
    RankPlan rp = rank_ranges(m, tp, r, req);
    p.vocab_per_rank = std::max(p.vocab_per_rank, rp.vocab.size());
    for (const TensorInfo& t : m.tensors) {
      rp.slices.push_back(slice_of(t, rp, m.config, p.embedding_vocab_parallel, problems));
      rp.weight_bytes += rp.slices.back().bytes;
    }
    p.ranks.push_back(std::move(rp));
  }
  for (const TensorSlice& s : p.ranks[0].slices)
    if (s.kind == SplitKind::Replicated) p.replicated_weight_bytes += s.bytes;
  return p;
}

// The largest valid tp that fits on `devices` devices.
int best_tp_for(const ModelFile& m, int devices) {
  int best = 1;
  for (int tp : valid_tp_values(m))
    if (tp <= devices) best = tp;
  return best;
}

}  // namespace

std::vector<std::string> plan_violations(const ModelFile& model, int tp, const PlanLimits& limits,
                                         const PlanRequest& request) {
  std::vector<std::string> v = shape_violations(model, tp, request.split);
  if (limits.devices > 0 && tp > limits.devices)
    v.push_back(fmt::format("tp {} needs {} devices but {} {} available; use --tp {}", tp, tp,
                            limits.devices, limits.devices == 1 ? "is" : "are",
                            best_tp_for(model, limits.devices)));
  if (!shape_violations(model, tp, request.split).empty()) return v;
  build_plan(model, tp, request, v);
  return v;
}

std::vector<int> valid_tp_values(const ModelFile& model) {
  std::vector<int> ok;
  for (int tp = 1; tp <= kMaxTp; ++tp)
    if (shape_violations(model, tp).empty()) ok.push_back(tp);
  return ok;
}

Plan make_plan(const ModelFile& model, int tp, const PlanLimits& limits,
               const PlanRequest& request) {
  const std::vector<std::string> v = plan_violations(model, tp, limits, request);
  if (!v.empty()) {
    std::string msg = fmt::format("tp {} cannot split this model: ", tp);
    for (const std::string& s : v) msg += s + "; ";
    throw PlanError(msg + "valid tp: " + join_ints(valid_tp_values(model)));
  }
  std::vector<std::string> unused;
  Plan p = build_plan(model, tp, request, unused);
  if (limits.cores > 0 && tp > limits.cores)
    p.warnings.push_back(fmt::format(
        "tp {} runs {} CPU ranks on {} cores: ranks share cores and each step is slower", tp, tp,
        limits.cores));
  return p;
}

}  // namespace tplm
