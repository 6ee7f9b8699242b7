#include "backend/cpu/read_bandwidth.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backend/cpu/host_memory.hpp"
#include "base/error.hpp"

namespace tplm::cpu {

namespace {

// XOR of every word of [b, b + n): eight independent lanes so that the
// compiler vectorizes the loop and the loads, not the additions, set the pace.
uint64_t fold(const uint64_t* b, size_t n) {
  uint64_t s[8] = {};
  for (size_t i = 0; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] ^= b[i + j];
  uint64_t x = 0;
  for (uint64_t v : s) x ^= v;
  return x;
}

}  // namespace

double read_bandwidth_bytes_per_s(int threads, uint64_t bytes, int passes) {
  if (threads < 1 || passes < 1)
    throw Error("the read bandwidth needs at least one thread and one pass");
  const size_t words_per_thread = static_cast<size_t>(bytes / 8 / static_cast<uint64_t>(threads)) /
                                  8 * 8;  // whole 64-byte lines
  if (words_per_thread == 0)
    throw Error("the read bandwidth's buffer of " + std::to_string(bytes) +
                " bytes is smaller than one 64-byte line per thread");
  const size_t n = static_cast<size_t>(threads);
  // The backend's own host memory (huge pages where it gets them), as the
  // weights are; written first (random-looking words), so reads are reads.
  const size_t words = words_per_thread * n;
  const std::unique_ptr<uint64_t, void (*)(void*)> memory(
      static_cast<uint64_t*>(alloc_host(words * 8)), free_host);
  uint64_t* const buf = memory.get();
  for (size_t i = 0; i < words; ++i) buf[i] = i * 0x9e3779b97f4a7c15ull;
  std::vector<uint64_t> sums(n);
  double best = 0;
  for (int p = 0; p < passes; ++p) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> ts;
    for (size_t t = 1; t < n; ++t)
      ts.emplace_back([&, t] { sums[t] = fold(buf + words_per_thread * t, words_per_thread); });
    sums[0] = fold(buf, words_per_thread);
    for (auto& t : ts) t.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(words * 8) / std::max(s, 1e-9));
  }
  // The sums are used, so the reads cannot be dropped; the effect is below any precision.
  uint64_t x = 0;
  for (uint64_t v : sums) x ^= v;
  return best + static_cast<double>(x & 1) * 1e-3;
}

}  // namespace tplm::cpu
