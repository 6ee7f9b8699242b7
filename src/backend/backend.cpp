// The one place that knows the concrete backends: everything else asks for a
// Backend by kind.
#include "backend/backend.hpp"

#include "backend/cpu/cpu_backend.hpp"
#include "base/error.hpp"

#if defined(TPLM_HAVE_CUDA)
#include "backend/cuda/cuda_backend.hpp"
#endif

namespace tplm {

std::string_view backend_kind_name(BackendKind k) {
  return k == BackendKind::Cuda ? "cuda" : "cpu";
}

std::optional<BackendKind> backend_kind_from_name(std::string_view name) {
  if (name == "cpu") return BackendKind::Cpu;
  if (name == "cuda") return BackendKind::Cuda;
  return std::nullopt;
}

bool backend_built(BackendKind kind) {
#if defined(TPLM_HAVE_CUDA)
  if (kind == BackendKind::Cuda) return true;
#endif
  return kind == BackendKind::Cpu;
}

int backend_device_count(BackendKind kind) {
  if (kind == BackendKind::Cpu) return 1;
#if defined(TPLM_HAVE_CUDA)
  return cuda_device_count();
#else
  return 0;
#endif
}

std::unique_ptr<Backend> make_backend(BackendKind kind, int device, int threads) {
  if (kind == BackendKind::Cpu) return make_cpu_backend(threads);
#if defined(TPLM_HAVE_CUDA)
  return make_cuda_backend(device, threads);
#else
  (void)device;
  throw Error(
      "this tplm was built without CUDA; rebuild with cmake -DTPLM_CUDA=ON (needs the CUDA "
      "toolkit) or run with --device cpu");
#endif
}

}  // namespace tplm
