#include "backend/cuda/op_timer.hpp"

#include <cstdio>

namespace tplm::cuda {

OpTimer::~OpTimer() {
  for (cudaEvent_t e : free_) cudaEventDestroy(e);
  for (const Pending& p : pending_) cudaEventDestroy(p.start), cudaEventDestroy(p.stop);
}

cudaEvent_t OpTimer::take() {
  if (!free_.empty()) {
    cudaEvent_t e = free_.back();
    free_.pop_back();
    return e;
  }
  cudaEvent_t e = nullptr;
  cudaEventCreate(&e);
  return e;
}

OpTimer::Scope OpTimer::time(std::string name, uint64_t bytes) {
  if (!enabled_) return Scope(nullptr, 0);
  Pending p{std::move(name), bytes, take(), take()};
  cudaEventRecord(p.start, stream_);
  pending_.push_back(std::move(p));
  return Scope(this, pending_.size() - 1);
}

void OpTimer::end(size_t index) {
  cudaEventRecord(pending_[index].stop, stream_);
}

void OpTimer::harvest() {
  for (Pending& p : pending_) {
    float ms = 0;
    if (cudaEventElapsedTime(&ms, p.start, p.stop) == cudaSuccess) {
      Stat& s = stats_[p.name];
      s.ms += ms;
      s.calls += 1;
      s.bytes += p.bytes;
    }
    free_.push_back(p.start);
    free_.push_back(p.stop);
  }
  pending_.clear();
}

void OpTimer::print(int device) {
  if (!enabled_ || stats_.empty()) return;
  double total = 0;
  for (const auto& [name, s] : stats_) total += s.ms;
  std::fprintf(stderr, "cuda profile, GPU %d: %.1f ms in ops\n", device, total);
  std::fprintf(stderr, "  %-28s %8s %10s %10s %7s %9s\n", "op", "calls", "total ms", "us/call",
               "share", "GB/s");
  for (const auto& [name, s] : stats_)
    std::fprintf(stderr, "  %-28s %8lld %10.2f %10.2f %6.1f%% %9.1f\n", name.c_str(),
                 static_cast<long long>(s.calls), s.ms, 1e3 * s.ms / static_cast<double>(s.calls),
                 100.0 * s.ms / total, s.ms > 0 ? static_cast<double>(s.bytes) / (s.ms * 1e6) : 0.0);
}

}  // namespace tplm::cuda
