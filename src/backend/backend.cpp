// The one place that knows the concrete backends: everything else asks for a
// Backend by kind.
#include "backend/backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "backend/cpu/cpu_backend.hpp"
#include "backend/cpu/read_bandwidth.hpp"
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

void Backend::norm_matmuls(const float* x, const float* norm_weight, int64_t T, int64_t dim,
                           float eps, float* h, std::span<const Projection> outs) {
  rmsnorm(x, norm_weight, T, dim, eps, h);
  for (const Projection& p : outs) matmul(h, T, *p.w, p.bias, p.y);
}

void Backend::norm_swiglu(const float* x, const float* norm_weight, int64_t T, int64_t dim,
                          float eps, float* h, const WeightView& gate, const WeightView& up,
                          float* up_scratch, float* out) {
  rmsnorm(x, norm_weight, T, dim, eps, h);
  matmul(h, T, gate, nullptr, out);
  matmul(h, T, up, nullptr, up_scratch);
  swiglu(out, up_scratch, T * gate.rows, out);
}

void Backend::rope_store_kv(float* q, float* k, const float* v, const AttentionShape& s,
                            int64_t rope_dim, const float* inv_freq, void* k_cache_rows,
                            void* v_cache_rows) {
  if (s.kv_type != KvType::F32)
    throw Error(fmt::format("the {} backend stores only an f32 KV cache, not {}", name(),
                            kv_type_name(s.kv_type)));
  auto* k_cache = static_cast<float*>(k_cache_rows);
  auto* v_cache = static_cast<float*>(v_cache_rows);
  rope(q, s.n_tokens, s.n_heads, s.head_dim, rope_dim, inv_freq, s.positions);
  rope(k, s.n_tokens, s.n_kv_heads, s.head_dim, rope_dim, inv_freq, s.positions);
  const int64_t row = s.n_kv_heads * s.head_dim;
  const size_t row_bytes = static_cast<size_t>(row) * sizeof(float);
  for (int64_t t = 0; t < s.n_tokens; ++t) {
    const int64_t p = s.pos0 + t;  // == positions[t]: the host's copy of it
    copy(k_cache + p * row, k + t * row, row_bytes);
    copy(v_cache + p * row, v + t * row, row_bytes);
  }
}

void Backend::attend_segments(std::span<const AttentionSegment> segments, int64_t rope_dim,
                              const float* inv_freq) {
  for (const AttentionSegment& g : segments) {
    rope_store_kv(g.q, g.k, g.v, g.s, rope_dim, inv_freq, g.k_cache, g.v_cache);
    attention(g.q, g.k_cache, g.v_cache, g.s, g.out);
  }
}

bool backend_supports_dtype(BackendKind kind, DType dtype) {
#if defined(TPLM_HAVE_CUDA)
  if (kind == BackendKind::Cuda) return cuda_supports_dtype(dtype);
#endif
  (void)dtype;
  return kind == BackendKind::Cpu;
}

bool backend_supports_kv_type(BackendKind kind, KvType type) {
  return kind == BackendKind::Cpu || type == KvType::F32;
}

DeviceInfo backend_device_info(BackendKind kind, int device) {
#if defined(TPLM_HAVE_CUDA)
  if (kind == BackendKind::Cuda) {
    const CudaDeviceInfo c = cuda_device_info(device);
    return {c.name, c.free_bytes, c.total_bytes};
  }
#endif
  (void)device;
  return {std::string(backend_kind_name(kind)), 0, 0};
}

double backend_read_bandwidth_gbps(BackendKind kind, int device) {
#if defined(TPLM_HAVE_CUDA)
  if (kind == BackendKind::Cuda) return cuda_read_bandwidth_gbps(device, uint64_t{1} << 30);
#endif
  (void)device;
  if (kind != BackendKind::Cpu) return 0.0;
  // Every core of the host, over 256 MiB (far above the last-level cache), best
  // of 4 passes: about a quarter of a second.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return cpu::read_bandwidth_bytes_per_s(cores, uint64_t{256} << 20, 4) / 1e9;
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
