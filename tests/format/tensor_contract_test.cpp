// The tensor contract: names parse to {kind, layer} and back, every kind has
// its role, and the expected tensors follow the configuration.
#include "format/tensor_contract.hpp"

#include <gtest/gtest.h>

#include <set>

namespace tplm {
namespace {

TEST(TensorContract, EveryKindRoundTripsThroughItsName) {
  for (const TensorSpec& s : tensor_contract()) {
    const TensorId id{s.kind, s.per_layer ? 17 : -1};
    const std::string name = tensor_name(id);
    EXPECT_EQ(parse_tensor_name(name), id) << name;
    EXPECT_EQ(tensor_spec(s.kind).suffix, s.suffix);
  }
  EXPECT_EQ(tensor_name({TensorKind::Q, 3}), "blk.3.attn_q.weight");
  EXPECT_EQ(tensor_name({TensorKind::LmHead}), "output.weight");
}

TEST(TensorContract, NamesOutsideTheContractAreUnknown) {
  for (const char* name : {"rope_freqs.weight", "blk.x.attn_q.weight", "blk.1.attn_q",
                           "blk..attn_q.weight", "blk.-1.attn_q.weight", "attn_q.weight",
                           "blk.2.token_embd.weight", "", "blk.3.", "blk.4.attn_q.weightx"})
    EXPECT_EQ(parse_tensor_name(name).kind, TensorKind::Unknown) << name;
}

TEST(TensorContract, RolesAndRopeRows) {
  EXPECT_EQ(tensor_spec(TensorKind::Q).role, SplitRole::QHeads);
  EXPECT_EQ(tensor_spec(TensorKind::VBias).role, SplitRole::KvHeads);
  EXPECT_EQ(tensor_spec(TensorKind::O).role, SplitRole::OutHeads);
  EXPECT_EQ(tensor_spec(TensorKind::Up).role, SplitRole::FfnRows);
  EXPECT_EQ(tensor_spec(TensorKind::Down).role, SplitRole::FfnCols);
  EXPECT_EQ(tensor_spec(TensorKind::LmHead).role, SplitRole::Vocab);
  EXPECT_EQ(tensor_spec(TensorKind::AttnNorm).role, SplitRole::Replicated);
  std::set<TensorKind> rope;
  for (const TensorSpec& s : tensor_contract())
    if (s.rope_rows) rope.insert(s.kind);
  EXPECT_EQ(rope, (std::set<TensorKind>{TensorKind::Q, TensorKind::K, TensorKind::QBias,
                                        TensorKind::KBias}));
}

TEST(TensorContract, ExpectedTensorsFollowTheConfiguration) {
  ModelConfig c;
  c.dim = 64, c.ffn_dim = 172, c.n_layers = 2, c.n_heads = 8, c.n_kv_heads = 4, c.head_dim = 8;
  c.vocab_size = 512;
  auto count = [](const std::vector<ExpectedTensor>& e, TensorKind k) {
    int n = 0;
    for (const ExpectedTensor& t : e) n += t.id.kind == k;
    return n;
  };
  std::vector<ExpectedTensor> e = expected_tensors(c);
  EXPECT_EQ(e.size(), 3u + 2u * 9u);
  EXPECT_EQ(count(e, TensorKind::QBias), 0);
  for (const ExpectedTensor& t : e) {
    if (t.name == "blk.1.attn_k.weight") {
      EXPECT_EQ(t.shape, (std::vector<int64_t>{32, 64}));
    }
  }
  c.tied_embeddings = true;
  c.qkv_bias = true;
  e = expected_tensors(c);
  EXPECT_EQ(count(e, TensorKind::LmHead), 0);
  EXPECT_EQ(count(e, TensorKind::QBias), 2);
  EXPECT_EQ(e.size(), 2u + 2u * 12u);
}

}  // namespace
}  // namespace tplm
