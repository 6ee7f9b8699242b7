// PeerMemory on one GPU: the ranks' buffers are all device memory of the same
// GPU, so a sum over them is one kernel and a copy one cudaMemcpyAsync, on
// the calling rank's stream; the rank drains its stream before it publishes
// a buffer and before it meets its peers, so host barriers order the device work.
#include <cuda_runtime.h>

#include <algorithm>

#include "base/cuda_check.hpp"
#include "parallel/cuda/device_communicators.hpp"
#include "parallel/plan.hpp"

namespace tplm {
namespace {

struct Sources {
  const float* p[kMaxTp];
};

__global__ void sum_kernel(Sources src, int n, size_t begin, size_t end, float* dst) {
  for (size_t i = begin + blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < end;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    float acc = src.p[0][i];
    for (int q = 1; q < n; ++q) acc += src.p[q][i];
    dst[i] = acc;
  }
}

class DevicePeerMemory final : public PeerMemory {
 public:
  void sum(const float* const* src, int n, size_t begin, size_t end, float* dst) override {
    if (end <= begin) return;
    if (n > kMaxTp) throw CommError("device all-reduce: more than 64 ranks");
    Sources s{};
    std::copy(src, src + n, s.p);
    const size_t blocks = std::min<size_t>((end - begin + 255) / 256, 4096);
    sum_kernel<<<static_cast<unsigned>(blocks), 256, 0, stream_>>>(s, n, begin, end, dst);
    TPLM_CUDA_CHECK(cudaGetLastError());
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes > 0 && dst != src)
      TPLM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
  }
  void ready() override { TPLM_CUDA_CHECK(cudaStreamSynchronize(stream_)); }
  void finish() override { TPLM_CUDA_CHECK(cudaStreamSynchronize(stream_)); }
  void set_stream(void* stream) override { stream_ = static_cast<cudaStream_t>(stream); }

 private:
  cudaStream_t stream_ = nullptr;
};

}  // namespace

std::unique_ptr<PeerMemory> make_device_peer_memory() {
  return std::make_unique<DevicePeerMemory>();
}

}  // namespace tplm
