#pragma once
// The cpu backend: host memory and SIMD kernels split over a thread pool.
// Only backend/backend.cpp (the factory) and tests name it.
#include <memory>

#include "backend/backend.hpp"

namespace tplm {

// threads: how many threads this rank's kernels use (>= 1).
std::unique_ptr<Backend> make_cpu_backend(int threads);

}  // namespace tplm
