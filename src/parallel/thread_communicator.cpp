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

}  // namespace

ThreadWorld::ThreadWorld(int n, double timeout_seconds)
    : n_(n), barrier_(n, timeout_seconds), buffers_(static_cast<size_t>(n), nullptr) {}

ThreadCommunicator::ThreadCommunicator(std::shared_ptr<ThreadWorld> world, int rank,
                                       std::unique_ptr<PeerMemory> memory)
    : world_(std::move(world)), rank_(rank), memory_(std::move(memory)) {}

void ThreadCommunicator::account(uint64_t bytes, double seconds) {
  bytes_sent_.fetch_add(bytes, std::memory_order_relaxed);
  seconds_.store(seconds_.load(std::memory_order_relaxed) + seconds, std::memory_order_relaxed);
}

void ThreadCommunicator::all_reduce_sum(float* data, size_t count) {
  const int n = world_size();
  if (n == 1 || count == 0) return;  // every rank passes the same count
  const auto t0 = Clock::now();
  memory_->ready();
  publish(data);
  meet("all_reduce_sum");
  // Reduce-scatter: chunk r of every buffer is read only by rank r, and rank
  // r writes only chunk r of its own, so no two ranks touch the same bytes.
  const Range mine = split_range(static_cast<int64_t>(count), rank_, n);
  std::vector<const float*> src(static_cast<size_t>(n));
  for (int q = 0; q < n; ++q) src[static_cast<size_t>(q)] = static_cast<const float*>(buffer_of(q));
  memory_->sum(src.data(), n, static_cast<size_t>(mine.begin), static_cast<size_t>(mine.end), data);
  memory_->finish();
  meet("all_reduce_sum");
  // All-gather: chunk q of rank q's buffer is final; copy it into ours.
  for (int q = 0; q < n; ++q) {
    if (q == rank_) continue;
    const Range c = split_range(static_cast<int64_t>(count), q, n);
    memory_->copy(data + c.begin, src[static_cast<size_t>(q)] + c.begin,
                  static_cast<size_t>(c.size()) * sizeof(float));
  }
  memory_->finish();
  meet("all_reduce_sum");  // peers may still be reading our chunk until here
  const uint64_t mine_bytes = static_cast<uint64_t>(mine.size()) * sizeof(float);
  account((count * sizeof(float) - mine_bytes) + static_cast<uint64_t>(n - 1) * mine_bytes,
          seconds_since(t0));
}

void ThreadCommunicator::all_gather(const float* send, size_t count, float* recv) {
  const int n = world_size();
  if (n == 1) {
    memory_->copy(recv, send, count * sizeof(float));
    memory_->finish();
    return;
  }
  const auto t0 = Clock::now();
  memory_->ready();
  publish(send);
  meet("all_gather");
  for (int q = 0; q < n; ++q)
    memory_->copy(recv + static_cast<size_t>(q) * count, buffer_of(q), count * sizeof(float));
  memory_->finish();
  meet("all_gather");
  account(static_cast<uint64_t>(n - 1) * count * sizeof(float), seconds_since(t0));
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

std::vector<std::unique_ptr<Communicator>> make_thread_communicators(
    int n, double timeout_seconds, const PeerMemoryFactory& make_memory) {
  if (n < 1) throw Error(fmt::format("a world needs at least 1 rank, not {}", n));
  auto world = std::make_shared<ThreadWorld>(n, timeout_seconds);
  std::vector<std::unique_ptr<Communicator>> comms;
  for (int r = 0; r < n; ++r)
    comms.push_back(std::make_unique<ThreadCommunicator>(
        world, r, make_memory ? make_memory() : make_host_peer_memory()));
  return comms;
}

}  // namespace tplm
