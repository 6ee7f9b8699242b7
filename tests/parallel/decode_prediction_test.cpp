// The decode prediction's arithmetic with given figures (read bandwidth,
// link latency and bandwidth), the advice it gives, --tp auto's choice, and
// the link probe on thread ranks.
#include "parallel/decode_prediction.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "parallel/link_cost.hpp"
#include "parallel/thread_communicator.hpp"

namespace tplm {
namespace {

// A 1B-class shape: 16 layers, dim 2048, vocab 32000 (vocab-parallel embedding).
ModelConfig config_1b() {
  ModelConfig c;
  c.dim = 2048, c.ffn_dim = 8192, c.n_layers = 16, c.n_heads = 32, c.n_kv_heads = 8;
  c.head_dim = 64, c.vocab_size = 32000, c.context_length = 2048;
  return c;
}

// tp ranks of `weights` bytes each, of which `embedding` bytes are the
// embedding table's slice (a decode step reads one row of it: not counted).
Plan plan_of(int tp, uint64_t weights, uint64_t embedding, uint64_t kv = 0) {
  Plan p;
  p.tp = tp;
  p.embedding_vocab_parallel = true;
  p.vocab_per_rank = (32000 + tp - 1) / tp;
  for (int r = 0; r < tp; ++r) {
    RankPlan rp;
    rp.rank = r;
    rp.weight_bytes = weights;
    rp.kv_cache_bytes = kv;
    TensorSlice e;
    e.name = "token_embd.weight";
    e.id.kind = TensorKind::Embedding;
    e.bytes = embedding;
    rp.slices.push_back(e);
    p.ranks.push_back(rp);
  }
  return p;
}

TEST(LinkCost, FitsLatencyAndBandwidthThroughTwoSizes) {
  // 8 KiB in 60 us, 256 KiB in 1.05 ms: 1 GB/s-ish line.
  const double a = 8192, b = 262144;
  const double bw = 250e6, lat = 30e-6;
  const LinkCost c = fit_link_cost(a, lat + a / bw, b, lat + b / bw);
  EXPECT_NEAR(c.bytes_per_s, bw, bw * 1e-9);
  EXPECT_NEAR(c.latency_s, lat, 1e-12);
  EXPECT_NEAR(all_reduce_seconds(c, 1e6), lat + 1e6 / bw, 1e-12);
  // The larger size no slower (noise): all latency, bandwidth from the larger.
  const LinkCost flat = fit_link_cost(a, 1e-4, b, 0.9e-4);
  EXPECT_DOUBLE_EQ(flat.latency_s, 1e-4);
  EXPECT_DOUBLE_EQ(flat.bytes_per_s, b / 0.9e-4);
}

TEST(DecodePrediction, CountsTheExchangesOfADecodeToken) {
  const ModelConfig c = config_1b();
  const DecodeExchanges none = decode_exchanges(c, plan_of(1, 100, 10));
  EXPECT_EQ(none.all_reduces + none.gathers + none.broadcasts, 0);
  const DecodeExchanges e = decode_exchanges(c, plan_of(2, 100, 10));
  EXPECT_EQ(e.all_reduces, 33);  // 2 per layer + the vocab-parallel embedding
  EXPECT_EQ(e.all_reduce_bytes, 2048u * 4);
  EXPECT_EQ(e.gathers, 1);
  EXPECT_EQ(e.gather_bytes, 32000u * 4);
  EXPECT_EQ(e.broadcasts, 1);
}

TEST(DecodePrediction, TokenTimeIsReadTimePlusExchanges) {
  const ModelConfig c = config_1b();
  // tp 1: 4.4 GB of weights, 0.4 GB of them the embedding: reads 4.0 GB at 20 GB/s = 200 ms.
  const DecodePrediction one =
      predict_decode(c, plan_of(1, 4'400'000'000, 400'000'000, 1'000), {20e9, {}});
  EXPECT_EQ(one.read_bytes_per_rank, 4'000'000'000u);
  EXPECT_EQ(one.memory_per_rank, 4'400'001'000u);
  EXPECT_NEAR(one.compute_s, 0.2, 1e-12);
  EXPECT_EQ(one.exchange_s, 0.0);
  EXPECT_NEAR(one.tokens_per_s, 5.0, 1e-9);

  // tp 2 on two hosts (each rank reads 20 GB/s), a link of 50 us and 1 GB/s:
  // 33 all-reduces of 8192 bytes, a gather of 128000 bytes (costed as an
  // all-reduce of 64000), a broadcast (latency only).
  const LinkCost link{50e-6, 1e9};
  const DecodePrediction two =
      predict_decode(c, plan_of(2, 2'200'000'000, 200'000'000), {20e9, link});
  const double exchanges = 33 * (50e-6 + 8192 / 1e9) + (50e-6 + 64000 / 1e9) + 50e-6;
  EXPECT_NEAR(two.compute_s, 0.1, 1e-12);
  EXPECT_NEAR(two.exchange_s, exchanges, 1e-12);
  EXPECT_NEAR(two.token_s, 0.1 + exchanges, 1e-12);
  EXPECT_NEAR(two.exchange_share, exchanges / (0.1 + exchanges), 1e-12);
  EXPECT_THROW(predict_decode(c, plan_of(1, 1, 0), {0, {}}), Error);
}

DecodePrediction prediction(int tp, double compute_ms, double exchange_ms) {
  DecodePrediction d;
  d.tp = tp;
  d.compute_s = compute_ms * 1e-3;
  d.exchange_s = exchange_ms * 1e-3;
  d.token_s = d.compute_s + d.exchange_s;
  d.tokens_per_s = 1.0 / d.token_s;
  d.exchange_share = d.exchange_s / d.token_s;
  return d;
}

TEST(DecodeAdvice, SaysWhenTheLinkMakesTheSplitSlower) {
  const DecodePrediction one = prediction(1, 100, 0);
  // Half the reading, but exchanges of 72% of the token: 178.6 ms against 100.
  const DecodePrediction two = prediction(2, 50, 50 * 0.72 / 0.28);
  const std::vector<std::string> a = decode_advice(one, two);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_NE(a[0].find("on this link the exchanges would take 72% of each token; tp 2 is "
                      "predicted slower than tp 1 (tp 1 10.0 against tp 2 5.6 tokens/s)"),
            std::string::npos)
      << a[0];
  EXPECT_NE(a[0].find("predicted 79% faster"), std::string::npos) << a[0];
}

TEST(DecodeAdvice, SaysTp1IsFasterWhenTheModelFitsOneDevice) {
  // Ranks on one host share its bandwidth and each reads the replicated
  // weights: 110 ms of reading + 5 ms of exchanges against 100 ms.
  const std::vector<std::string> a = decode_advice(prediction(1, 100, 0), prediction(2, 110, 5));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_NE(a[0].find("the model fits one device, and tp 1 is predicted 15% faster than tp 2 "
                      "(tp 1 10.0 against tp 2 8.7 tokens/s)"),
            std::string::npos)
      << a[0];
}

TEST(DecodeAdvice, SilentWhenTheSplitIsFasterOrTp1DoesNotFit) {
  EXPECT_TRUE(decode_advice(prediction(1, 100, 0), prediction(2, 50, 10)).empty());
  EXPECT_TRUE(decode_advice(prediction(1, 100, 0), prediction(1, 100, 0)).empty());
  DecodePrediction too_big = prediction(1, 100, 0);
  too_big.fits = false;
  EXPECT_TRUE(decode_advice(too_big, prediction(2, 50, 100)).empty());
}

TEST(ChooseTp, TheFastestThatFitsAndSaysWhy) {
  std::vector<DecodePrediction> c = {prediction(1, 100, 0), prediction(2, 50, 10),
                                     prediction(4, 25, 40)};
  AutoTpChoice pick = choose_tp(c);
  EXPECT_EQ(pick.tp, 2);
  EXPECT_NE(pick.reason.find("--tp auto chose tp 2: the fastest predicted that fits (16.7 "
                             "tokens/s, exchanges 17% of each token; tp 1: 10.0 tokens/s; tp 4: "
                             "15.4 tokens/s)"),
            std::string::npos)
      << pick.reason;
  // tp 2 does not fit: tp 4 is next.
  c[1].fits = false;
  c[1].why_not = "rank 0 needs 9 GiB";
  pick = choose_tp(c);
  EXPECT_EQ(pick.tp, 4);
  EXPECT_NE(pick.reason.find("tp 2: does not fit"), std::string::npos) << pick.reason;
  // Within 1%: the smaller tp.
  pick = choose_tp({prediction(1, 100, 0), prediction(2, 99.5, 0)});
  EXPECT_EQ(pick.tp, 1);
  // None fits: the first one's reason.
  c = {prediction(1, 100, 0)};
  c[0].fits = false;
  c[0].why_not = "rank 0 needs 9 GiB";
  try {
    choose_tp(c);
    FAIL() << "no tp fits";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tp fits: rank 0 needs 9 GiB"), std::string::npos);
  }
}

TEST(LinkProbe, MeasuresThreadRanksWithinItsTime) {
  auto comms = make_thread_communicators(2, 30.0);
  std::vector<LinkCost> got(2);
  LinkProbeOptions o;
  o.decode_count = 2048;
  o.prefill_count = 2048 * 32;
  o.seconds = 0.4;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int r = 0; r < 2; ++r)
    ts.emplace_back([&, r] {
      std::vector<float> buf(o.prefill_count, 0.0f);
      got[static_cast<size_t>(r)] = probe_link(*comms[static_cast<size_t>(r)], buf.data(), o);
    });
  for (auto& t : ts) t.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(got[0].bytes_per_s, 0);
  EXPECT_GE(got[0].latency_s, 0);
  // Rank 0's figures on every rank.
  EXPECT_EQ(got[0].bytes_per_s, got[1].bytes_per_s);
  EXPECT_EQ(got[0].latency_s, got[1].latency_s);
  // A loaded machine may stretch a round, never by seconds.
  EXPECT_LT(s, 5.0);
  // One rank: no link.
  auto solo = make_thread_communicators(1, 30.0);
  std::vector<float> buf(16);
  const LinkCost none = probe_link(*solo[0], buf.data(), {4, 16, 0.1});
  EXPECT_EQ(none.bytes_per_s, 0);
  EXPECT_EQ(none.latency_s, 0);
}

}  // namespace
}  // namespace tplm
