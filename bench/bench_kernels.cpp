// Kernel speed of the cpu backend: matvec (T = 1, decode), a batched decode
// step (T = 16: one row per sequence) and prefill (T = 64) per weight dtype,
// at 768x768 and 2048x768, on 1 and 2 threads; and the attention of a batched
// decode step (BM_attention). GFLOP/s counts
// 2 * rows * cols * T; GB/s counts the weight bytes read once per call.
// Issue 12's batching gain for a dtype is 16 x time(T = 1) / time(T = 16).
//   cmake -DTPLM_BENCH=ON ... && build/bench_kernels
//   build/bench_kernels --benchmark_filter='dtype:3/rows:2048/.*threads:2'
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "backend/cpu/cpu_backend.hpp"
#include "format/kv_type.hpp"

namespace {

using tplm::DType;

constexpr DType kDtypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0,
                             DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

// Random weight bytes that decode to finite values of moderate size in every dtype.
std::vector<uint8_t> random_weight_bytes(DType dt, int64_t n) {
  std::vector<uint8_t> b(tplm::dtype_bytes(dt, n));
  std::mt19937 rng(1);
  for (auto& x : b) x = static_cast<uint8_t>(rng() & 0xff);
  const int64_t scale_stride = dt == DType::Q8_0 ? 34 : dt == DType::Q4_0 ? 18 : 0;
  // K-quants: d (and dmin) are f16 at fixed offsets of each super-block.
  const int64_t kblock =
      tplm::dtype_traits(dt).block_elems == 256 ? tplm::dtype_traits(dt).block_bytes : 0;
  for (int64_t i = 0; kblock && i < static_cast<int64_t>(b.size()); i += kblock) {
    if (dt == DType::Q6_K) {
      b[static_cast<size_t>(i + 209)] = 0x20;
    } else {
      b[static_cast<size_t>(i + 1)] = 0x20;
      b[static_cast<size_t>(i + 3)] = 0x20;
    }
  }
  for (size_t i = 0; i + 1 < b.size(); i += 2) {
    if (dt == DType::F16 || dt == DType::BF16)
      b[i + 1] = static_cast<uint8_t>(0x3c | (b[i + 1] & 0x80));
  }
  if (dt == DType::F32)
    for (size_t i = 3; i < b.size(); i += 4) b[i] = static_cast<uint8_t>(0x3f | (b[i] & 0x80));
  if (scale_stride)
    for (size_t i = 0; i < b.size(); i += static_cast<size_t>(scale_stride)) b[i + 1] = 0x20;
  return b;
}

void BM_matmul(benchmark::State& state) {
  const DType dt = kDtypes[state.range(0)];
  const int64_t rows = state.range(1), cols = state.range(2), T = state.range(3);
  const int threads = static_cast<int>(state.range(4));
  auto be = tplm::make_cpu_backend(threads);
  const auto bytes = random_weight_bytes(dt, rows * cols);
  // The layout the engine's loader gives the backend (regrouped Q8_0 / Q4_0 with AVX-512).
  void* stored = be->alloc(bytes.size());
  tplm::WeightView w{dt, rows, cols, stored};
  w.layout = be->upload_matrix(stored, {dt, rows, cols, bytes.data()});
  std::vector<float> x(static_cast<size_t>(T * cols), 0.5f), y(static_cast<size_t>(T * rows));
  for (auto _ : state) {
    be->matmul(x.data(), T, w, nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  be->release(stored);
  const double it = static_cast<double>(state.iterations());
  state.SetLabel(std::string(tplm::dtype_name(dt)) + (T == 1 ? " matvec" : " matmul"));
  state.counters["us/token"] = benchmark::Counter(
      static_cast<double>(T) * it / 1e6, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * rows * cols * T * it / 1e9, benchmark::Counter::kIsRate);
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(bytes.size()) * it / 1e9, benchmark::Counter::kIsRate);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"dtype", "rows", "cols", "T", "threads"});
  for (int64_t T : {1, 16, 64})
    for (int64_t d = 0; d < 8; ++d)
      for (int64_t rows : {768, 2048})
        for (int64_t threads : {1, 2}) b->Args({d, rows, 768, T, threads});
  // Decode from memory: 32768 x 2048 weights (64-136 MB) are past the L3 cache.
  for (int64_t d = 0; d < 8; ++d)
    for (int64_t threads : {1, 2}) b->Args({d, 32768, 2048, 1, threads});
  // Batched decode from memory (16 streams of a 110M-class model: 768 columns).
  for (int64_t d = 0; d < 8; ++d)
    for (int64_t threads : {1, 2}) b->Args({d, 65536, 768, 16, threads});
}

BENCHMARK(BM_matmul)->Apply(shapes)->UseRealTime();

// One layer's attention of a batched decode step: `seqs` sequences at
// `positions` cached positions each (f16 cache, 12 heads of 64: the 110M
// shape), RoPE and cache stores included. Each call takes the next of 12
// layers' caches, so that the rows come from memory as in a step.
void BM_attention(benchmark::State& state) {
  const int64_t seqs = state.range(0), positions = state.range(1);
  const int threads = static_cast<int>(state.range(2));
  constexpr int64_t kHeads = 12, kHeadDim = 64, kLayers = 12, kContext = 512;
  auto be = tplm::make_cpu_backend(threads);
  const size_t cache_bytes = tplm::kv_row_bytes(tplm::KvType::F16, kHeads, kHeadDim) * kContext;
  std::vector<uint8_t> caches(2 * cache_bytes * static_cast<size_t>(kLayers * seqs), 0x11);
  const int64_t row = kHeads * kHeadDim;
  std::vector<float> q(static_cast<size_t>(seqs * row), 0.5f), k(q.size(), 0.25f), v(q),
      out(q.size());
  std::vector<int32_t> pos(static_cast<size_t>(seqs), static_cast<int32_t>(positions - 1));
  std::vector<float> inv_freq(kHeadDim / 2, 0.01f);
  std::vector<tplm::AttentionSegment> segs(static_cast<size_t>(seqs));
  int64_t layer = 0;
  for (auto _ : state) {
    for (int64_t i = 0; i < seqs; ++i) {
      uint8_t* kc = caches.data() + 2 * cache_bytes * static_cast<size_t>(layer * seqs + i);
      const tplm::AttentionShape shape{1,        positions - 1,  kHeads,   kHeads,
                                       kHeadDim, pos.data() + i, kContext, tplm::KvType::F16};
      segs[static_cast<size_t>(i)] = {
          q.data() + i * row, k.data() + i * row,  v.data() + i * row, shape, kc,
          kc + cache_bytes,   out.data() + i * row};
    }
    be->attend_segments(segs, kHeadDim, inv_freq.data());
    layer = (layer + 1) % kLayers;
  }
  // The cache bytes one call reads (K and V, every position of every sequence).
  state.counters["GB/s"] = benchmark::Counter(
      2.0 * static_cast<double>(seqs * positions * row * 2) * state.iterations() / 1e9,
      benchmark::Counter::kIsRate);
}

BENCHMARK(BM_attention)
    ->ArgNames({"seqs", "positions", "threads"})
    ->Args({16, 100, 2})
    ->Args({16, 400, 2})
    ->Args({1, 100, 2})
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
