#include "parallel/thread_communicator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "parallel/split_range.hpp"

namespace tplm {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// dst[i] = sum over q of src[q][i], in rank order, a tile at a time so the
// partial sums stay in cache and the inner loops vectorize.
void sum_chunk(const std::vector<const float*>& src, int64_t begin, int64_t end, float* dst) {
  constexpr int64_t kTile = 1024;
  float acc[kTile];
  for (int64_t t = begin; t < end; t += kTile) {
    const int64_t n = std::min(kTile, end - t);
    std::memcpy(acc, src[0] + t, static_cast<size_t>(n) * sizeof(float));
    for (size_t q = 1; q < src.size(); ++q) {
      const float* s = src[q] + t;
      for (int64_t i = 0; i < n; ++i) acc[i] += s[i];
    }
    std::memcpy(dst + t, acc, static_cast<size_t>(n) * sizeof(float));
  }
}

}  // namespace

ThreadWorld::ThreadWorld(int n, double timeout_seconds)
    : n_(n), barrier_(n, timeout_seconds), buffers_(static_cast<size_t>(n), nullptr) {}

ThreadCommunicator::ThreadCommunicator(std::shared_ptr<ThreadWorld> world, int rank)
    : world_(std::move(world)), rank_(rank) {}

void ThreadCommunicator::account(uint64_t bytes, double seconds) {
  bytes_sent_.fetch_add(bytes, std::memory_order_relaxed);
  seconds_.store(seconds_.load(std::memory_order_relaxed) + seconds, std::memory_order_relaxed);
}

void ThreadCommunicator::all_reduce_sum(float* data, size_t count) {
  const int n = world_size();
  if (n == 1 || count == 0) return;  // every rank passes the same count
  const auto t0 = Clock::now();
  publish(data);
  meet("all_reduce_sum");
  // Reduce-scatter: chunk r of every buffer is read only by rank r, and rank
  // r writes only chunk r of its own, so no two ranks touch the same bytes.
  const Range mine = split_range(static_cast<int64_t>(count), rank_, n);
  std::vector<const float*> src(static_cast<size_t>(n));
  for (int q = 0; q < n; ++q) src[static_cast<size_t>(q)] = static_cast<const float*>(buffer_of(q));
  sum_chunk(src, mine.begin, mine.end, data);
  meet("all_reduce_sum");
  // All-gather: chunk q of rank q's buffer is final; copy it into ours.
  for (int q = 0; q < n; ++q) {
    if (q == rank_) continue;
    const Range c = split_range(static_cast<int64_t>(count), q, n);
    if (c.size() > 0)
      std::memcpy(data + c.begin, src[static_cast<size_t>(q)] + c.begin,
                  static_cast<size_t>(c.size()) * sizeof(float));
  }
  meet("all_reduce_sum");  // peers may still be reading our chunk until here
  const uint64_t mine_bytes = static_cast<uint64_t>(mine.size()) * sizeof(float);
  account((count * sizeof(float) - mine_bytes) + static_cast<uint64_t>(n - 1) * mine_bytes,
          seconds_since(t0));
}

void ThreadCommunicator::all_gather(const float* send, std::span<const size_t> counts,
                                    float* recv) {
  const int n = world_size();
  if (counts.size() != static_cast<size_t>(n))
    throw CommError(
        fmt::format("all_gather: {} counts given for a world of {} ranks", counts.size(), n));
  if (n == 1) {
    if (send != recv && counts[0] > 0) std::memmove(recv, send, counts[0] * sizeof(float));
    return;
  }
  const auto t0 = Clock::now();
  publish(send);
  meet("all_gather");
  size_t offset = 0;
  for (int q = 0; q < n; ++q) {
    const size_t c = counts[static_cast<size_t>(q)];
    const float* src = static_cast<const float*>(buffer_of(q));
    if (c > 0 && src != recv + offset) std::memmove(recv + offset, src, c * sizeof(float));
    offset += c;
  }
  meet("all_gather");
  account(static_cast<uint64_t>(n - 1) * counts[static_cast<size_t>(rank_)] * sizeof(float),
          seconds_since(t0));
}

void ThreadCommunicator::broadcast(void* data, size_t bytes, int root) {
  const int n = world_size();
  if (root < 0 || root >= n)
    throw CommError(fmt::format("broadcast: root {} is not a rank of a world of {}", root, n));
  if (n == 1 || bytes == 0) return;
  const auto t0 = Clock::now();
  if (rank_ == root) publish(data);
  meet("broadcast");
  if (rank_ != root) std::memcpy(data, buffer_of(root), bytes);
  meet("broadcast");
  account(rank_ == root ? static_cast<uint64_t>(n - 1) * bytes : 0, seconds_since(t0));
}

void ThreadCommunicator::barrier() {
  if (world_size() == 1) return;
  const auto t0 = Clock::now();
  meet("barrier");
  account(0, seconds_since(t0));
}

std::vector<std::unique_ptr<Communicator>> make_thread_communicators(int n,
                                                                     double timeout_seconds) {
  if (n < 1) throw Error(fmt::format("a world needs at least 1 rank, not {}", n));
  auto world = std::make_shared<ThreadWorld>(n, timeout_seconds);
  std::vector<std::unique_ptr<Communicator>> comms;
  for (int r = 0; r < n; ++r) comms.push_back(std::make_unique<ThreadCommunicator>(world, r));
  return comms;
}

}  // namespace tplm
