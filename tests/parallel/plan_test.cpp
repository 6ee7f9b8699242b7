// The plan: coverage of every tensor, head/kv mapping, uneven splits,
// quantized block boundaries, limits and the exact error messages.
#include "parallel/plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "format/tensor_info.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

TensorInfo tensor(std::string name, DType dt, std::vector<int64_t> shape) {
  TensorInfo t;
  t.name = std::move(name);
  t.source_name = t.name;
  t.id = parse_tensor_name(t.name);
  t.dtype = dt;
  t.shape = std::move(shape);
  t.nbytes = static_cast<uint64_t>(t.rows()) * dtype_bytes(dt, t.cols());
  return t;
}

struct Shape {
  int64_t dim = 64, ffn = 172, layers = 2, heads = 8, kv = 4, vocab = 512, ctx = 16;
  DType dt = DType::F32;       // linear weights
  DType down_dt = DType::F32;  // ffn_down
  bool tied = false, bias = false;
};

// A ModelFile with the canonical tensors of a Llama model of this shape.
ModelFile make_model(const Shape& s) {
  ModelFile m;
  ModelConfig& c = m.config;
  c.dim = s.dim, c.ffn_dim = s.ffn, c.n_layers = s.layers, c.n_heads = s.heads;
  c.n_kv_heads = s.kv, c.head_dim = s.dim / s.heads, c.vocab_size = s.vocab;
  c.context_length = s.ctx, c.rope_dim = c.head_dim, c.tied_embeddings = s.tied;
  c.qkv_bias = s.bias;
  const int64_t hd = c.head_dim;
  m.tensors.push_back(tensor("token_embd.weight", s.dt, {s.vocab, s.dim}));
  for (int64_t l = 0; l < s.layers; ++l) {
    auto n = [&](const char* w) { return "blk." + std::to_string(l) + "." + w; };
    m.tensors.push_back(tensor(n("attn_norm.weight"), DType::F32, {s.dim}));
    m.tensors.push_back(tensor(n("attn_q.weight"), s.dt, {s.heads * hd, s.dim}));
    m.tensors.push_back(tensor(n("attn_k.weight"), s.dt, {s.kv * hd, s.dim}));
    m.tensors.push_back(tensor(n("attn_v.weight"), s.dt, {s.kv * hd, s.dim}));
    if (s.bias) {
      m.tensors.push_back(tensor(n("attn_q.bias"), DType::F32, {s.heads * hd}));
      m.tensors.push_back(tensor(n("attn_k.bias"), DType::F32, {s.kv * hd}));
      m.tensors.push_back(tensor(n("attn_v.bias"), DType::F32, {s.kv * hd}));
    }
    m.tensors.push_back(tensor(n("attn_output.weight"), s.dt, {s.dim, s.heads * hd}));
    m.tensors.push_back(tensor(n("ffn_norm.weight"), DType::F32, {s.dim}));
    m.tensors.push_back(tensor(n("ffn_gate.weight"), s.dt, {s.ffn, s.dim}));
    m.tensors.push_back(tensor(n("ffn_up.weight"), s.dt, {s.ffn, s.dim}));
    m.tensors.push_back(tensor(n("ffn_down.weight"), s.down_dt, {s.dim, s.ffn}));
  }
  m.tensors.push_back(tensor("output_norm.weight", DType::F32, {s.dim}));
  m.tensors.push_back(tensor("rope_freqs.weight", DType::F32, {hd / 2}));
  if (!s.tied) m.tensors.push_back(tensor("output.weight", s.dt, {s.vocab, s.dim}));
  return m;
}

bool is_kv(const std::string& name) {
  return name.find("attn_k.") != std::string::npos || name.find("attn_v.") != std::string::npos;
}

// Every element of a split tensor is owned by exactly kv_replication ranks
// (K/V when replicated) or by exactly one; a replicated tensor is whole on
// every rank; bytes add up to the precise expected number.
void expect_exact_cover(const ModelFile& m, const Plan& p) {
  ASSERT_EQ(p.ranks.size(), static_cast<size_t>(p.tp));
  uint64_t sum = 0, kv_bytes = 0;
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    const TensorInfo& t = m.tensors[i];
    std::vector<int> owners(static_cast<size_t>(t.rows() * t.cols()), 0);
    for (const RankPlan& rp : p.ranks) {
      const TensorSlice& s = rp.slices.at(i);
      ASSERT_EQ(s.name, t.name);
      ASSERT_GE(s.rows.begin, 0);
      ASSERT_LE(s.rows.end, t.rows()) << t.name;
      ASSERT_LE(s.cols.end, t.cols()) << t.name;
      ASSERT_GT(s.rows.size() * s.cols.size(), 0) << t.name << " empty on rank " << rp.rank;
      EXPECT_EQ(s.bytes, TensorReader::block_bytes(t, s.rows, s.cols));
      for (int64_t r = s.rows.begin; r < s.rows.end; ++r)
        for (int64_t c = s.cols.begin; c < s.cols.end; ++c)
          owners[static_cast<size_t>(r * t.cols() + c)]++;
      if (is_quantized(t.dtype)) {
        const int64_t b = dtype_traits(t.dtype).block_elems;
        EXPECT_EQ(s.cols.begin % b, 0) << t.name;
        EXPECT_EQ(s.cols.end % b, 0) << t.name;
      }
    }
    const SplitKind kind = p.ranks[0].slices[i].kind;
    const int expected = kind == SplitKind::Replicated ? p.tp
                         : is_kv(t.name)               ? p.kv_replication
                                                       : 1;
    for (size_t e = 0; e < owners.size(); ++e)
      ASSERT_EQ(owners[e], expected) << t.name << " element " << e << " at tp " << p.tp;
    if (is_kv(t.name)) kv_bytes += TensorReader::block_bytes(t, {0, t.rows()}, {0, t.cols()});
  }
  for (const RankPlan& rp : p.ranks) {
    uint64_t w = 0;
    for (const TensorSlice& s : rp.slices) w += s.bytes;
    EXPECT_EQ(rp.weight_bytes, w);
    sum += rp.weight_bytes;
  }
  const uint64_t tp = static_cast<uint64_t>(p.tp), rep = static_cast<uint64_t>(p.kv_replication);
  EXPECT_EQ(sum,
            p.total_weight_bytes + (tp - 1) * p.replicated_weight_bytes + (rep - 1) * kv_bytes);
}

void expect_heads_mapping(const ModelConfig& c, const Plan& p) {
  const int64_t group = c.n_heads / c.n_kv_heads;  // query heads per kv head
  int64_t next_head = 0;
  for (const RankPlan& rp : p.ranks) {
    EXPECT_EQ(rp.heads.begin, next_head);
    EXPECT_GE(rp.heads.size(), 1);
    // tp <= kv heads: the rank's kv heads come with every query head that reads them.
    if (p.kv_replication == 1) {
      EXPECT_EQ(rp.heads.size(), rp.kv_heads.size() * group);
    }
    next_head = rp.heads.end;
    // Every query head of the rank reads a kv head the rank owns.
    for (int64_t h = rp.heads.begin; h < rp.heads.end; ++h) {
      EXPECT_GE(h / group, rp.kv_heads.begin) << "rank " << rp.rank << " head " << h;
      EXPECT_LT(h / group, rp.kv_heads.end) << "rank " << rp.rank << " head " << h;
    }
    EXPECT_EQ(rp.kv_cache_bytes, 2ull *
                                     static_cast<uint64_t>(c.n_layers * c.context_length *
                                                           rp.kv_heads.size() * c.head_dim) *
                                     4);
  }
  EXPECT_EQ(next_head, c.n_heads);
}

TEST(Plan, Stories260KSplitsAtValidTp) {
  const auto bin = test::stories_dir() / "stories260K.bin";
  if (!std::filesystem::exists(bin)) GTEST_SKIP() << "missing " << bin;
  const ModelFile m = open_model(bin);
  EXPECT_EQ(valid_tp_values(m), (std::vector<int>{1, 2, 3, 4, 8}));
  for (int tp : {1, 2, 3, 4, 8}) {
    SCOPED_TRACE(tp);
    const Plan p = make_plan(m, tp);
    EXPECT_EQ(p.kv_replication, tp == 8 ? 2 : 1);
    expect_exact_cover(m, p);
    expect_heads_mapping(m.config, p);
  }
  const Plan p8 = make_plan(m, 8);
  EXPECT_EQ(p8.ranks[5].kv_heads, (Range{2, 3}));
  EXPECT_EQ(p8.ranks[5].heads, (Range{5, 6}));
  // 172 FFN columns over 8 ranks: 22,22,22,22,21,21,21,21.
  std::vector<int64_t> widths;
  for (const RankPlan& rp : p8.ranks) widths.push_back(rp.ffn.size());
  EXPECT_EQ(widths, (std::vector<int64_t>{22, 22, 22, 22, 21, 21, 21, 21}));
}

TEST(Plan, Stories260KTp3DealsKvHeadsUnevenly) {
  const auto bin = test::stories_dir() / "stories260K.bin";
  if (!std::filesystem::exists(bin)) GTEST_SKIP() << "missing " << bin;
  const ModelFile m = open_model(bin);
  // 4 kv heads over 3 ranks: 2, 1, 1, each with its 2 query heads: 4, 2, 2.
  const Plan p = make_plan(m, 3);
  std::vector<Range> kv, heads;
  for (const RankPlan& rp : p.ranks) kv.push_back(rp.kv_heads), heads.push_back(rp.heads);
  EXPECT_EQ(kv, (std::vector<Range>{{0, 2}, {2, 3}, {3, 4}}));
  EXPECT_EQ(heads, (std::vector<Range>{{0, 4}, {4, 6}, {6, 8}}));
  EXPECT_EQ(p.ranks[0].kv_cache_bytes, 2 * p.ranks[1].kv_cache_bytes);
  try {
    make_plan(m, 5);
    FAIL() << "tp 5 accepted";
  } catch (const PlanError& e) {
    EXPECT_STREQ(e.what(),
                 "tp 5 cannot split this model: 5 ranks are more than the 4 kv heads and not a "
                 "multiple of them; valid tp: 1, 2, 3, 4, 8");
  }
}

TEST(Plan, MqaSplitsTheQueryHeadsOfItsOneKvHead) {
  Shape s;
  s.kv = 1;  // MQA: every rank holds the kv head and a share of the 8 query heads
  const ModelFile m = make_model(s);
  EXPECT_EQ(valid_tp_values(m), (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
  const Plan p = make_plan(m, 3);
  EXPECT_EQ(p.ranks[0].heads, (Range{0, 3}));
  EXPECT_EQ(p.ranks[2].heads, (Range{6, 8}));
  try {
    make_plan(m, 9);
    FAIL() << "tp 9 accepted";
  } catch (const PlanError& e) {
    EXPECT_STREQ(e.what(),
                 "tp 9 cannot split this model: each of the 1 kv heads is read by 8 query heads, "
                 "fewer than the 9 ranks that would share it; valid tp: 1, 2, 3, 4, 5, 6, 7, 8");
  }
}

TEST(Plan, OneHeadModelNamesTheOnlyValidTp) {
  Shape s;
  s.heads = 1, s.kv = 1;
  const ModelFile m = make_model(s);
  try {
    make_plan(m, 2);
    FAIL() << "tp 2 accepted";
  } catch (const PlanError& e) {
    EXPECT_STREQ(e.what(),
                 "tp 2 cannot split this model: each of the 1 kv heads is read by 1 query heads, "
                 "fewer than the 2 ranks that would share it; valid tp: 1");
  }
}

TEST(Plan, SplitRatiosWeightKvHeadsFfnAndVocab) {
  const ModelFile m = make_model({});  // 8 heads, 4 kv heads, FFN 172, vocab 512
  PlanRequest req;
  req.split = {3, 1};
  const Plan p = make_plan(m, 2, {}, req);
  EXPECT_EQ(p.ranks[0].kv_heads, (Range{0, 3}));
  EXPECT_EQ(p.ranks[0].heads, (Range{0, 6}));
  EXPECT_EQ(p.ranks[1].heads, (Range{6, 8}));
  EXPECT_EQ(p.ranks[0].ffn, (Range{0, 129}));
  EXPECT_EQ(p.ranks[1].ffn, (Range{129, 172}));
  EXPECT_EQ(p.ranks[0].vocab, (Range{0, 384}));
  EXPECT_EQ(p.ranks[1].vocab, (Range{384, 512}));
  EXPECT_EQ(p.vocab_per_rank, 384);  // the gather's count: the largest slice
  expect_exact_cover(m, p);
  expect_heads_mapping(m.config, p);
  // Equal ratios are the even split.
  req.split = {1, 1, 1};
  const Plan even = make_plan(m, 3), same = make_plan(m, 3, {}, req);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(even.ranks[r].kv_heads, same.ranks[r].kv_heads);
    EXPECT_EQ(even.ranks[r].ffn, same.ranks[r].ffn);
  }
}

TEST(Plan, SplitRatiosThatCannotWork) {
  const ModelFile m = make_model({});
  PlanRequest req;
  req.split = {3, 1};
  ASSERT_EQ(plan_violations(m, 3, {}, req).size(), 1u);
  EXPECT_EQ(plan_violations(m, 3, {}, req)[0],
            "--split has 2 ratios but tp is 3; give one ratio per rank");
  req.split = {100, 1};  // 4 kv heads: 3.96 and 0.04
  ASSERT_EQ(plan_violations(m, 2, {}, req).size(), 1u);
  EXPECT_EQ(plan_violations(m, 2, {}, req)[0],
            "--split leaves rank 1 with 0 kv heads, 2 FFN columns and 5 vocabulary rows; give it "
            "a larger ratio");
}

TEST(Plan, TpOutOfRange) {
  const ModelFile m = make_model({});
  for (int tp : {0, -1, 65}) {
    EXPECT_THROW(make_plan(m, tp), PlanError) << tp;
    ASSERT_EQ(plan_violations(m, tp, {}).size(), 1u);
    EXPECT_EQ(plan_violations(m, tp, {})[0], "tp must be between 1 and 64");
  }
}

TEST(Plan, GqaMhaTiedBiasesCoverExactly) {
  std::vector<Shape> shapes(4);
  shapes[1].kv = 8;                         // MHA
  shapes[2].kv = 1, shapes[2].tied = true;  // MQA, tied embeddings
  shapes[3].bias = true, shapes[3].kv = 2;  // Qwen2-style biases
  for (const Shape& s : shapes) {
    const ModelFile m = make_model(s);
    for (int tp : valid_tp_values(m)) {
      SCOPED_TRACE(testing::Message() << "kv " << s.kv << " tp " << tp);
      const Plan p = make_plan(m, tp);
      EXPECT_EQ(p.kv_replication, tp > s.kv ? tp / s.kv : 1);
      expect_exact_cover(m, p);
      expect_heads_mapping(m.config, p);
    }
  }
}

TEST(Plan, BiasSplitsItsElementsLikeItsWeight) {
  Shape s;
  s.bias = true;
  const ModelFile m = make_model(s);
  const Plan p = make_plan(m, 4);
  const TensorSlice& b = p.ranks[1].slice("blk.0.attn_q.bias");
  EXPECT_EQ(b.kind, SplitKind::Column);
  EXPECT_EQ(b.rows, (Range{0, 1}));
  EXPECT_EQ(b.cols, (Range{16, 32}));
  EXPECT_EQ(p.ranks[1].slice("blk.0.attn_k.bias").cols, (Range{8, 16}));
  EXPECT_EQ(p.ranks[1].slice("blk.0.attn_q.weight").rows, (Range{16, 32}));
  EXPECT_EQ(p.ranks[1].slice("blk.0.attn_output.weight").cols, (Range{16, 32}));
  EXPECT_EQ(p.ranks[1].slice("blk.0.attn_output.weight").kind, SplitKind::Row);
  EXPECT_EQ(p.ranks[1].slice("blk.0.ffn_down.weight").kind, SplitKind::Row);
  EXPECT_EQ(p.ranks[1].slice("output.weight").kind, SplitKind::Vocab);
  EXPECT_EQ(p.ranks[1].slice("output_norm.weight").kind, SplitKind::Replicated);
  EXPECT_EQ(p.ranks[1].slice("rope_freqs.weight").kind, SplitKind::Replicated);
  EXPECT_THROW(p.ranks[1].slice("no.such.tensor"), Error);
}

TEST(Plan, QuantizedDownSplitsAtBlocks) {
  Shape s;
  s.dim = 256, s.ffn = 320, s.dt = DType::Q8_0, s.down_dt = DType::Q4_0;  // 10 blocks of 32
  const ModelFile m = make_model(s);
  const Plan p = make_plan(m, 4);  // 10 blocks over 4 ranks: 3,3,2,2
  std::vector<int64_t> widths;
  for (const RankPlan& rp : p.ranks) widths.push_back(rp.ffn.size());
  EXPECT_EQ(widths, (std::vector<int64_t>{96, 96, 64, 64}));
  expect_exact_cover(m, p);
  // 8 heads x 32 dims: attn_output's 32 input columns per head are one block.
  expect_exact_cover(m, make_plan(m, 8));
}

TEST(Plan, QuantizedBlockBoundariesThatCannotBeMet) {
  Shape s;  // head_dim 8: 8 heads / 8 ranks = 8 columns of Wo, a quarter block
  s.dt = DType::Q8_0;
  s.ffn = 192;
  const ModelFile m = make_model(s);
  const std::vector<std::string> v = plan_violations(m, 8, {});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0],
            "attn_output is Q8_0 (blocks of 32) but rank 0's 1 heads x 8 dims = 8 input columns "
            "are not a whole number of blocks");
  EXPECT_EQ(valid_tp_values(m), (std::vector<int>{1, 2}));
  // FFN 192 = 6 blocks: fewer blocks than 8 ranks when ffn_down is quantized.
  Shape d = s;
  d.dt = DType::F32, d.down_dt = DType::Q4_0, d.ffn = 192;
  const std::vector<std::string> dv = plan_violations(make_model(d), 8, {});
  ASSERT_EQ(dv.size(), 1u);
  EXPECT_EQ(dv[0], "the FFN width 192 has 6 blocks of 32 (quantized ffn_down), fewer than 8 ranks");
}

// K-quants hold 256 elements per super-block: the plan cuts row-parallel
// inputs only between super-blocks and lists the tp values that can.
TEST(Plan, KQuantSuperBlocksAreNeverCut) {
  Shape s;  // 8 heads x 64 dims; FFN 1536 = 6 super-blocks
  s.dim = 512, s.ffn = 1536, s.dt = DType::Q4_K, s.down_dt = DType::Q6_K;
  const ModelFile m = make_model(s);
  EXPECT_EQ(valid_tp_values(m), (std::vector<int>{1, 2}));
  const Plan p = make_plan(m, 2);
  EXPECT_EQ(p.ranks[1].slice("blk.0.attn_output.weight").cols, (Range{256, 512}));
  EXPECT_EQ(p.ranks[1].ffn, (Range{768, 1536}));
  expect_exact_cover(m, p);
  const std::vector<std::string> v = plan_violations(m, 4, {});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0],
            "attn_output is Q4_K (blocks of 256) but rank 0's 2 heads x 64 dims = 128 input "
            "columns are not a whole number of blocks");
  try {
    make_plan(m, 4);
    FAIL() << "expected PlanError";
  } catch (const PlanError& e) {
    EXPECT_NE(std::string(e.what()).find("; valid tp: 1, 2"), std::string::npos) << e.what();
  }
  // FFN 1536 over 8 ranks: fewer super-blocks (6) than ranks.
  Shape d = s;
  d.dt = DType::F32, d.down_dt = DType::Q5_K;
  const std::vector<std::string> dv = plan_violations(make_model(d), 8, {});
  ASSERT_EQ(dv.size(), 1u);
  EXPECT_EQ(dv[0],
            "the FFN width 1536 has 6 blocks of 256 (quantized ffn_down), fewer than 8 ranks");
  // Uneven: 6 super-blocks over 4 ranks are 2, 2, 1, 1.
  std::vector<int64_t> widths;
  for (const RankPlan& rp : make_plan(make_model(d), 4).ranks) widths.push_back(rp.ffn.size());
  EXPECT_EQ(widths, (std::vector<int64_t>{512, 512, 256, 256}));
}

TEST(Plan, EmptyFfnOrVocabRangeIsRefused) {
  Shape s;
  s.ffn = 4, s.vocab = 2, s.heads = 8, s.kv = 8;
  const std::vector<std::string> v = plan_violations(make_model(s), 8, {});
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], "the FFN width 4 leaves some of 8 ranks empty");
  EXPECT_EQ(v[1], "the vocabulary of 2 leaves some of 8 ranks empty");
}

TEST(Plan, LimitsDevicesCores) {
  const ModelFile m = make_model({});
  try {
    make_plan(m, 4, PlanLimits{0, 1});
    FAIL();
  } catch (const PlanError& e) {
    EXPECT_STREQ(e.what(),
                 "tp 4 cannot split this model: tp 4 needs 4 devices but 1 is available; use "
                 "--tp 1; valid tp: 1, 2, 3, 4, 8");
  }
  EXPECT_EQ(plan_violations(m, 8, PlanLimits{0, 6}).at(0),
            "tp 8 needs 8 devices but 6 are available; use --tp 4");
  const Plan many = make_plan(m, 8, PlanLimits{2, 0});
  ASSERT_EQ(many.warnings.size(), 1u);
  EXPECT_NE(many.warnings[0].find("8 CPU ranks on 2 cores"), std::string::npos);
  EXPECT_TRUE(make_plan(m, 2, PlanLimits{2, 0}).warnings.empty());
}

TEST(Plan, EmbeddingDecision) {
  Shape small;  // 512 x 64 f32 table in a tiny model: a large share, split it
  const Plan split = make_plan(make_model(small), 2);
  EXPECT_TRUE(split.embedding_vocab_parallel);
  EXPECT_EQ(split.ranks[1].slice("token_embd.weight").kind, SplitKind::Vocab);
  EXPECT_EQ(split.ranks[1].slice("token_embd.weight").rows, (Range{256, 512}));
  EXPECT_NE(split.embedding_reason.find("vocab-parallel"), std::string::npos);
  Shape big;  // a tiny table beside wide layers: replicate, save the all-reduce
  big.vocab = 32, big.dim = 512, big.ffn = 4096, big.layers = 4, big.tied = true;
  const ModelFile m = make_model(big);
  const Plan rep = make_plan(m, 4);
  EXPECT_FALSE(rep.embedding_vocab_parallel);
  EXPECT_NE(rep.embedding_reason.find("replicated"), std::string::npos) << rep.embedding_reason;
  EXPECT_EQ(rep.ranks[3].slice("token_embd.weight").kind, SplitKind::Replicated);
  EXPECT_EQ(rep.ranks[3].vocab, (Range{24, 32}));  // the tied LM head still splits
  expect_exact_cover(m, rep);
}

TEST(Plan, VocabularySlicesArePaddedToOneCount) {
  Shape s;
  s.vocab = 515;  // no tp > 1 divides it
  ModelFile m = make_model(s);
  for (int tp : {1, 2, 4, 8}) {
    SCOPED_TRACE(tp);
    Plan p = make_plan(m, tp);
    EXPECT_EQ(p.vocab_per_rank, (515 + tp - 1) / tp);
    int64_t next = 0;
    for (const RankPlan& rp : p.ranks) {
      EXPECT_EQ(rp.vocab.begin, next);  // in order, no gap: the gather is the vocabulary
      EXPECT_LE(rp.vocab.size(), p.vocab_per_rank);
      next = rp.vocab.end;
    }
    EXPECT_EQ(next, 515);
    EXPECT_EQ(p.ranks.back().vocab.size(), 515 - (tp - 1) * p.vocab_per_rank);
  }
}

}  // namespace
}  // namespace tplm
