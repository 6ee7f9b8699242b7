#pragma once
// TPLM_CUDA_PROFILE=1: the GPU time of each backend op, measured with events
// recorded around it on the rank's stream (recorded steps are turned off so
// every op is seen), added up per op and printed when the backend goes.
// GB/s is the weight bytes an op reads over its time.
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tplm::cuda {

class OpTimer {
 public:
  OpTimer(bool enabled, cudaStream_t stream) : enabled_(enabled), stream_(stream) {}
  ~OpTimer();
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

  bool enabled() const { return enabled_; }

  class Scope {
   public:
    Scope(OpTimer* t, size_t index) : timer_(t), index_(index) {}
    ~Scope() {
      if (timer_ != nullptr) timer_->end(index_);
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    OpTimer* timer_;
    size_t index_;
  };
  Scope time(std::string name, uint64_t bytes);
  void harvest();  // after the stream has been synchronized
  void print(int device);

 private:
  struct Pending {
    std::string name;
    uint64_t bytes;
    cudaEvent_t start, stop;
  };
  struct Stat {
    double ms = 0;
    int64_t calls = 0;
    uint64_t bytes = 0;
  };
  cudaEvent_t take();
  void end(size_t index);

  bool enabled_;
  cudaStream_t stream_;
  std::vector<Pending> pending_;
  std::vector<cudaEvent_t> free_;
  std::map<std::string, Stat> stats_;
};

}  // namespace tplm::cuda
