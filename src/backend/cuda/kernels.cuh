#pragma once
// The launchers of this backend's kernels: each queues its kernel on stream
// and checks the launch. Pointers are device memory unless a comment says not.
#include <cuda_runtime.h>

#include <cstdint>

#include "backend/backend.hpp"

namespace tplm::cuda {

// ---- gemv.cu: one token (T = 1), one warp per weight row.
struct GemvOutput {
  WeightView w;
  const float* bias = nullptr;
  float* y = nullptr;
};
enum class GemvMode {
  Store,   // y = x W^T + bias, for each of 1..3 outputs sharing x
  Add,     // y += x W^T (one output)
  SwiGLU,  // out[0].y = silu(x Wg^T) * (x Wu^T); outputs 0 = gate, 1 = up
};
struct GemvCall {
  const float* x = nullptr;  // [cols]
  int64_t cols = 0;
  const float* norm_weight = nullptr;  // when set, x is rmsnorm(x) * norm_weight first,
  float eps = 0;                       // written to h when h is set
  float* h = nullptr;
  GemvOutput out[3];
  int n_out = 1;
  GemvMode mode = GemvMode::Store;
};
// Whether gemv can take these outputs in one launch (one dtype, input staged
// in shared memory); the backend falls back to separate steps otherwise.
bool gemv_supported(const GemvCall& c, int device);
void gemv(const GemvCall& c, cudaStream_t stream);

// ---- elementwise.cu
void rmsnorm(const float* x, const float* w, int64_t T, int64_t dim, float eps, float* y,
             cudaStream_t s);
void rope(float* x, int64_t T, int64_t n_heads, int64_t head_dim, int64_t rope_dim,
          const float* inv_freq, const int32_t* positions, cudaStream_t s);
void rope_store_kv(float* q, float* k, const float* v, const AttentionShape& a, int64_t rope_dim,
                   const float* inv_freq, float* k_cache, float* v_cache, cudaStream_t s);
void swiglu(const float* gate, const float* up, int64_t n, float* out, cudaStream_t s);
void add(float* x, const float* y, int64_t n, cudaStream_t s);
void embed(const WeightView& table, int64_t row_begin, const int32_t* ids, int64_t T, float* out,
           cudaStream_t s);
// y[t, r] = bias[r] (accumulate: y[t, r] += bias[r]).
void broadcast_bias(float* y, const float* bias, int64_t T, int64_t rows, bool accumulate,
                    cudaStream_t s);
// out[0 .. rows * cols) = w as float32.
void dequantize(const WeightView& w, float* out, cudaStream_t s);
// out = x as 16-bit floats (bf16 when bf16, else f16), round to nearest.
void to_half(const float* x, int64_t n, bool bf16, void* out, cudaStream_t s);

// ---- attention.cu
// Token t attends to cache rows 0 .. positions[t], read on the device; the
// grid is sized by a.context so a recorded step replays at any position.
// partials: decode_partials_floats(a) floats of scratch.
constexpr int64_t kDecodeMaxTokens = 8;
int64_t decode_partials_floats(const AttentionShape& a);
void decode_attention(const float* q, const float* k_cache, const float* v_cache,
                      const AttentionShape& a, float* partials, float* out, cudaStream_t s);
// scores[h, t, j] -> softmax over j <= positions[t] (zeros after), in place.
void causal_softmax(float* scores, const int32_t* positions, int64_t T, int64_t n_heads,
                    int64_t keys, cudaStream_t s);

// ---- bandwidth.cu
// Sums bytes of buf (uint4 loads) into *sink: a pure read of the memory.
void read_all(const void* buf, uint64_t bytes, unsigned long long* sink, cudaStream_t s);

}  // namespace tplm::cuda
