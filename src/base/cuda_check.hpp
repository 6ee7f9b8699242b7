#pragma once
// Every CUDA runtime call's status, checked: a failure becomes a tplm::Error
// naming the call, CUDA's message and the place. Only code built with CUDA
// (backend/cuda, parallel/cuda, parallel/nccl) includes this.
#include <cuda_runtime.h>

#include <string>

#include "base/error.hpp"

namespace tplm {

inline void cuda_check(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw Error(std::string("cuda: ") + call + " failed: " + cudaGetErrorString(status) + " (" +
              file + ":" + std::to_string(line) + ")");
}

}  // namespace tplm

#define TPLM_CUDA_CHECK(call) ::tplm::cuda_check((call), #call, __FILE__, __LINE__)
