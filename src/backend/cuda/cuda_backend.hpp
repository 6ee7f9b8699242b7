#pragma once
// The cuda backend: device memory, our own kernels for decode (one warp per
// weight row, dequantizing in registers), cuBLAS for prefill GEMMs, and CUDA
// graphs for recorded decode steps. Only backend/backend.cpp (the factory)
// and tests name it; it is built with -DTPLM_CUDA=ON.
//
// Environment:
//   TPLM_CUDA_EXACT=1   prefill GEMMs in f32 with dequantized weights (as the
//                       cpu backend computes), for comparisons; by default F16
//                       and BF16 weights multiply 16-bit activations on tensor cores.
//   TPLM_CUDA_GRAPHS=0  run decode steps without recording them.
//   TPLM_CUDA_PROFILE=1 time every op with events (recordings off) and print
//                       the time per op when the backend goes.
#include <cstdint>
#include <memory>
#include <string>

#include "backend/backend.hpp"

namespace tplm {

// threads: host threads (unused by the kernels; kept for the factory's shape).
std::unique_ptr<Backend> make_cuda_backend(int device, int threads);

int cuda_device_count();  // 0 without a driver or a GPU
// The weight dtypes the cuda kernels compute: F32, F16, BF16, Q8_0, Q4_0 (not
// yet the K-quants).
bool cuda_supports_dtype(DType dtype);
struct CudaDeviceInfo {
  std::string name;
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;
};
CudaDeviceInfo cuda_device_info(int device);
// Measured read bandwidth of a device's memory (GB/s), by a kernel that sums
// a buffer of `bytes` several times.
double cuda_read_bandwidth_gbps(int device, uint64_t bytes);

}  // namespace tplm
