// A pure read of device memory, for the read bandwidth that decode is
// measured against: every thread sums its uint4 words, one atomic per thread
// keeps the compiler from dropping the loads.
#include "backend/cuda/kernels.cuh"
#include "base/cuda_check.hpp"

namespace tplm::cuda {
namespace {

// Four loads in flight per thread per round, as a bandwidth-bound kernel keeps them.
__global__ void read_kernel(const uint4* buf, uint64_t words, unsigned long long* sink) {
  unsigned long long acc = 0;
  const uint64_t stride = static_cast<uint64_t>(gridDim.x) * blockDim.x;
  uint64_t i = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x;
  for (; i + 3 * stride < words; i += 4 * stride) {
    const uint4 a = __ldcs(buf + i), b = __ldcs(buf + i + stride);
    const uint4 c = __ldcs(buf + i + 2 * stride), d = __ldcs(buf + i + 3 * stride);
    acc += (a.x ^ b.y) + (c.z ^ d.w) + (a.w ^ b.x) + (c.y ^ d.z);
  }
  for (; i < words; i += stride) {
    const uint4 v = __ldcs(buf + i);
    acc += v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x5a5a5a5a5a5aull) atomicAdd(sink, acc);  // almost never: the loads must stay
}

}  // namespace

void read_all(const void* buf, uint64_t bytes, unsigned long long* sink, cudaStream_t s) {
  int device = 0, sms = 0;
  TPLM_CUDA_CHECK(cudaGetDevice(&device));
  TPLM_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  read_kernel<<<static_cast<unsigned>(sms * 8), 512, 0, s>>>(static_cast<const uint4*>(buf),
                                                             bytes / 16, sink);
  TPLM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace tplm::cuda
