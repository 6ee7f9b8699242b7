// Kernel speed of the cpu backend: matvec (T = 1, decode) and matmul (T = 64,
// prefill) per weight dtype, at 768x768 and 2048x768, on 1 and 2 threads.
// GFLOP/s counts 2 * rows * cols * T; GB/s counts the weight bytes read once.
//   cmake -DTPLM_BENCH=ON ... && build/bench_kernels
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "backend/cpu/cpu_backend.hpp"

namespace {

using tplm::DType;

constexpr DType kDtypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0};

// Random weight bytes that decode to finite values of moderate size in every dtype.
std::vector<uint8_t> random_weight_bytes(DType dt, int64_t n) {
  std::vector<uint8_t> b(tplm::dtype_bytes(dt, n));
  std::mt19937 rng(1);
  for (auto& x : b) x = static_cast<uint8_t>(rng() & 0xff);
  const int64_t scale_stride = dt == DType::Q8_0 ? 34 : dt == DType::Q4_0 ? 18 : 0;
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
  const tplm::WeightView w{dt, rows, cols, bytes.data()};
  std::vector<float> x(static_cast<size_t>(T * cols), 0.5f), y(static_cast<size_t>(T * rows));
  for (auto _ : state) {
    be->matmul(x.data(), T, w, nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetLabel(std::string(tplm::dtype_name(dt)) + (T == 1 ? " matvec" : " matmul"));
  const double it = static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * rows * cols * T * it / 1e9, benchmark::Counter::kIsRate);
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(bytes.size()) * it / 1e9, benchmark::Counter::kIsRate);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"dtype", "rows", "cols", "T", "threads"});
  for (int64_t T : {1, 64})
    for (int64_t d = 0; d < 5; ++d)
      for (int64_t rows : {768, 2048})
        for (int64_t threads : {1, 2}) b->Args({d, rows, 768, T, threads});
}

BENCHMARK(BM_matmul)->Apply(shapes)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
