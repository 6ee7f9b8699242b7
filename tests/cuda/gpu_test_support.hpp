#pragma once
// GPU tests: a skip when the machine has no GPU (reported as skipped, never
// passed), and host <-> device copies through the Backend interface.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "backend/backend.hpp"
#include "backend/cuda/cuda_backend.hpp"
#include "backend/reference.hpp"

#define TPLM_REQUIRE_GPU()                                                               \
  do {                                                                                   \
    if (::tplm::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA GPU on this machine"; \
  } while (0)

namespace tplm::test {

// A cuda backend and the device buffers a test puts on it.
class Gpu {
 public:
  // exact: prefill GEMMs in f32 (TPLM_CUDA_EXACT), as the cpu computes them.
  explicit Gpu(bool exact = true) {
    setenv("TPLM_CUDA_EXACT", exact ? "1" : "0", 1);
    be_ = make_cuda_backend(0, 1);
  }
  Backend& be() { return *be_; }

  template <class T>
  T* put(const std::vector<T>& v) {
    buffers_.emplace_back(*be_, v.size() * sizeof(T));
    be_->upload(buffers_.back().data(), v.data(), v.size() * sizeof(T));
    return reinterpret_cast<T*>(buffers_.back().data());
  }
  template <class T>
  T* zeros(size_t n) {
    buffers_.emplace_back(*be_, n * sizeof(T));
    return reinterpret_cast<T*>(buffers_.back().data());
  }
  WeightView put(const TestWeight& w) { return {w.dtype, w.rows, w.cols, put(w.bytes)}; }
  template <class T>
  std::vector<T> get(const T* p, size_t n) {
    std::vector<T> v(n);
    be_->download(v.data(), p, n * sizeof(T));
    return v;
  }

 private:
  std::unique_ptr<Backend> be_;
  std::vector<Buffer<uint8_t>> buffers_;
};

}  // namespace tplm::test
