// In-process collectives (Google Benchmark): all-reduce latency and bandwidth
// of the thread communicator at the sizes the forward pass uses (one token's
// hidden vector, a prefill block). Each benchmark thread is one rank.
//   build-*/bench_collectives --benchmark_filter=AllReduce
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "parallel/thread_communicator.hpp"

namespace {

// One world per size, shared by the benchmark's threads (rank = thread index).
tplm::Communicator& comm_for(int n, int rank) {
  static std::mutex mu;
  static std::map<int, std::vector<std::unique_ptr<tplm::Communicator>>> worlds;
  std::lock_guard lock(mu);
  auto& w = worlds[n];
  if (w.empty()) w = tplm::make_thread_communicators(n, 60.0);
  return *w[static_cast<size_t>(rank)];
}

void BM_AllReduce(benchmark::State& state) {
  const size_t count = static_cast<size_t>(state.range(0));
  tplm::Communicator& c = comm_for(state.threads(), state.thread_index());
  std::vector<float> x(count, 1.0f);
  for (auto _ : state) {
    c.all_reduce_sum(x.data(), count);
    benchmark::DoNotOptimize(x.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(count * sizeof(float)));
}
BENCHMARK(BM_AllReduce)->Arg(288)->Arg(4096)->Arg(1 << 20)->ThreadRange(2, 8)->UseRealTime();

void BM_Barrier(benchmark::State& state) {
  tplm::Communicator& c = comm_for(state.threads(), state.thread_index());
  for (auto _ : state) c.control().barrier();
}
BENCHMARK(BM_Barrier)->ThreadRange(2, 8)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
