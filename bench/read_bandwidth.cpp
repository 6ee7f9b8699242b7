// The machine's memory read bandwidth as a decode kernel sees it: N threads
// each sum their share of a buffer far larger than the caches, with wide
// loads, several passes; prints the best pass in GB/s. Built and run by
// scripts/bench_vs_llamacpp.sh (c++ -O2 -march=native -pthread); not a test.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const size_t bytes = (argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2048ull) << 20;
  const int passes = 8;
  std::vector<uint64_t> buf(bytes / 8);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = i * 0x9e3779b97f4a7c15ull;
  std::vector<uint64_t> sums(static_cast<size_t>(threads) * 8);
  double best = 0;
  for (int p = 0; p < passes; ++p) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        const size_t n = buf.size() / static_cast<size_t>(threads);
        const uint64_t* b = buf.data() + n * static_cast<size_t>(t);
        uint64_t s[8] = {};
        for (size_t i = 0; i + 8 <= n; i += 8)
          for (int j = 0; j < 8; ++j) s[j] ^= b[i + j];
        std::memcpy(&sums[static_cast<size_t>(t) * 8], s, sizeof s);
      });
    for (auto& t : ts) t.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(bytes) / s / 1e9);
  }
  uint64_t x = 0;
  for (uint64_t v : sums) x ^= v;
  std::printf("%.2f\n", best + static_cast<double>(x & 1) * 1e-12);
  return 0;
}
