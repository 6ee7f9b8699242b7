#pragma once
// The kernels one rank runs, behind one interface so that the model code is
// written once for every device. Pointers are in the backend's memory (host
// memory for cpu, device memory for cuda). Activations are float32; weights
// stay in their file dtype and are converted inside the kernels.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "format/dtype.hpp"

namespace tplm {

// A 2-D weight [rows = out_features, cols = in_features], row-major, in its file dtype.
struct WeightView {
  DType dtype = DType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;
};

// Shape of one attention call on a rank: the rank's own heads only.
struct AttentionShape {
  int64_t n_tokens = 0;  // T new positions, at pos0 .. pos0 + T - 1
  int64_t pos0 = 0;
  int64_t n_heads = 0;     // local query heads
  int64_t n_kv_heads = 0;  // local kv heads; query head h reads kv head h / (n_heads / n_kv_heads)
  int64_t head_dim = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;

  virtual void* alloc(size_t bytes) = 0;  // zero-filled
  virtual void release(void* p) = 0;
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void synchronize() {}

  // y[t, r] = sum_c x[t, c] * W[r, c] + (bias ? bias[r] : 0);  x: [T, W.cols], y: [T, W.rows].
  virtual void matmul(const float* x, int64_t T, const WeightView& w, const float* bias,
                      float* y) = 0;
  // y[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * weight
  virtual void rmsnorm(const float* x, const float* weight, int64_t T, int64_t dim, float eps,
                       float* y) = 0;
  // Rotates, in place, the pairs (2i, 2i+1), i < rope_dim / 2, of every head of x
  // ([T, n_heads, head_dim]) at position positions[t] by angle positions[t] * inv_freq[i].
  virtual void rope(float* x, int64_t T, int64_t n_heads, int64_t head_dim, int64_t rope_dim,
                    const float* inv_freq, const int32_t* positions) = 0;
  // Causal attention of q ([T, n_heads, head_dim]) over the cache rows 0 .. pos0 + t
  // (k_cache, v_cache: [context, n_kv_heads, head_dim], already holding the new rows);
  // out: [T, n_heads * head_dim]. Scale 1 / sqrt(head_dim).
  virtual void attention(const float* q, const float* k_cache, const float* v_cache,
                         const AttentionShape& s, float* out) = 0;
  // out[i] = silu(gate[i]) * up[i]
  virtual void swiglu(const float* gate, const float* up, int64_t n, float* out) = 0;
  // x[i] += y[i]
  virtual void add(float* x, const float* y, int64_t n) = 0;
  // out[t, :] = table[ids[t] - row_begin, :] when row_begin <= ids[t] < row_begin + table.rows,
  // else zeros (vocab-parallel lookup; table is the rank's rows of the embedding).
  virtual void embed(const WeightView& table, int64_t row_begin, const int32_t* ids, int64_t T,
                     float* out) = 0;
};

// threads: how many threads this rank's kernels use (>= 1).
std::unique_ptr<Backend> make_cpu_backend(int threads);

}  // namespace tplm
