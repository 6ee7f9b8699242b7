// The small kernels of a layer: one block per token row where a row needs a
// reduction (rmsnorm) or a position (rope, the cache store), grid-stride
// loops elsewhere. Their arithmetic follows the cpu backend's (ops.cpp).
#include <cuda_bf16.h>

#include "backend/cuda/device_dtype.cuh"
#include "backend/cuda/kernels.cuh"
#include "backend/cuda/reduce.cuh"
#include "base/cuda_check.hpp"

namespace tplm::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kHeadThreads = 64;  // one head's rotation pairs (head_dim / 2) per thread

unsigned grid_for(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 65535 * 8 ? (blocks > 0 ? blocks : 1) : 65535 * 8);
}

void check_launch() {
  TPLM_CUDA_CHECK(cudaGetLastError());
}

__global__ void rmsnorm_kernel(const float* x, const float* w, int64_t dim, float eps, float* y) {
  const float* xt = x + blockIdx.x * dim;
  float* yt = y + blockIdx.x * dim;
  float ss = 0.0f;
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) ss += xt[j] * xt[j];
  ss = block_sum(ss);
  const float inv = 1.0f / sqrtf(ss / static_cast<float>(dim) + eps);
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) yt[j] = w[j] * (inv * xt[j]);
}

// Rotates the pairs (2i, 2i + 1), i < rope_dim / 2, of the n_heads heads of one token.
__device__ void rotate_heads(float* x, int64_t n_heads, int64_t head_dim, int64_t rope_dim,
                             const float* inv_freq, float pos) {
  const int64_t half = rope_dim / 2;
  for (int64_t idx = threadIdx.x; idx < n_heads * half; idx += blockDim.x) {
    const int64_t h = idx / half, i = idx % half;
    float s, c;
    sincosf(pos * inv_freq[i], &s, &c);
    float* p = x + h * head_dim + 2 * i;
    const float a = p[0], b = p[1];
    p[0] = a * c - b * s;
    p[1] = a * s + b * c;
  }
}

__global__ void rope_kernel(float* x, int64_t n_heads, int64_t head_dim, int64_t rope_dim,
                            const float* inv_freq, const int32_t* positions) {
  rotate_heads(x + blockIdx.x * n_heads * head_dim, n_heads, head_dim, rope_dim, inv_freq,
               static_cast<float>(positions[blockIdx.x]));
}

// Block (t, b): b < n_heads rotates query head b of token t; the others
// rotate kv head b - n_heads, then store its k and v slices in the cache row
// positions[t]. One head per block keeps every block's work short.
__global__ void rope_store_kv_kernel(float* q, float* k, const float* v, int64_t n_heads,
                                     int64_t n_kv_heads, int64_t head_dim, int64_t rope_dim,
                                     const float* inv_freq, const int32_t* positions,
                                     float* k_cache, float* v_cache) {
  const int64_t t = blockIdx.x, b = blockIdx.y, row = n_kv_heads * head_dim;
  const int32_t pos = positions[t];
  if (b < n_heads) {
    rotate_heads(q + (t * n_heads + b) * head_dim, 1, head_dim, rope_dim, inv_freq,
                 static_cast<float>(pos));
    return;
  }
  const int64_t h = b - n_heads;
  rotate_heads(k + t * row + h * head_dim, 1, head_dim, rope_dim, inv_freq,
               static_cast<float>(pos));
  __syncthreads();  // k is rotated by other threads than the ones that store it
  for (int64_t c = h * head_dim + threadIdx.x; c < (h + 1) * head_dim; c += blockDim.x) {
    k_cache[pos * row + c] = k[t * row + c];
    v_cache[pos * row + c] = v[t * row + c];
  }
}

__global__ void swiglu_kernel(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float g = gate[i];
    out[i] = g * (1.0f / (1.0f + expf(-g))) * up[i];
  }
}

__global__ void add_kernel(float* x, const float* y, int64_t n) {
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] += y[i];
}

template <DType DT>
__global__ void embed_kernel(const uint8_t* table, int64_t rows, int64_t cols, int64_t row_bytes,
                             int64_t row_begin, const int32_t* ids, float* out) {
  const int64_t t = blockIdx.x;
  const int64_t r = static_cast<int64_t>(ids[t]) - row_begin;
  float* o = out + t * cols;
  const bool mine = r >= 0 && r < rows;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
    o[c] = mine ? load_elem<DT>(table + r * row_bytes, c) : 0.0f;
}

__global__ void bias_kernel(float* y, const float* bias, int64_t T, int64_t rows, bool accumulate) {
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < T * rows;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = (accumulate ? y[i] : 0.0f) + bias[i % rows];
}

template <DType DT>
__global__ void dequantize_kernel(const uint8_t* w, int64_t rows, int64_t cols, int64_t row_bytes,
                                  float* out) {
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < rows * cols;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = load_elem<DT>(w + (i / cols) * row_bytes, i % cols);
}

__global__ void to_half_kernel(const float* x, int64_t n, bool bf16, void* out) {
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if (bf16)
      static_cast<__nv_bfloat16*>(out)[i] = __float2bfloat16_rn(x[i]);
    else
      static_cast<__half*>(out)[i] = __float2half_rn(x[i]);
  }
}

}  // namespace

void rmsnorm(const float* x, const float* w, int64_t T, int64_t dim, float eps, float* y,
             cudaStream_t s) {
  if (T <= 0) return;
  rmsnorm_kernel<<<static_cast<unsigned>(T), kThreads, 0, s>>>(x, w, dim, eps, y);
  check_launch();
}

void rope(float* x, int64_t T, int64_t n_heads, int64_t head_dim, int64_t rope_dim,
          const float* inv_freq, const int32_t* positions, cudaStream_t s) {
  if (T <= 0) return;
  rope_kernel<<<static_cast<unsigned>(T), kThreads, 0, s>>>(x, n_heads, head_dim, rope_dim,
                                                            inv_freq, positions);
  check_launch();
}

void rope_store_kv(float* q, float* k, const float* v, const AttentionShape& a, int64_t rope_dim,
                   const float* inv_freq, float* k_cache, float* v_cache, cudaStream_t s) {
  if (a.n_tokens <= 0) return;
  const dim3 grid(static_cast<unsigned>(a.n_tokens),
                  static_cast<unsigned>(a.n_heads + a.n_kv_heads));
  rope_store_kv_kernel<<<grid, kHeadThreads, 0, s>>>(q, k, v, a.n_heads, a.n_kv_heads, a.head_dim,
                                                     rope_dim, inv_freq, a.positions, k_cache,
                                                     v_cache);
  check_launch();
}

void swiglu(const float* gate, const float* up, int64_t n, float* out, cudaStream_t s) {
  if (n <= 0) return;
  swiglu_kernel<<<grid_for(n), kThreads, 0, s>>>(gate, up, n, out);
  check_launch();
}

void add(float* x, const float* y, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  add_kernel<<<grid_for(n), kThreads, 0, s>>>(x, y, n);
  check_launch();
}

void embed(const WeightView& table, int64_t row_begin, const int32_t* ids, int64_t T, float* out,
           cudaStream_t s) {
  if (T <= 0) return;
  const auto row_bytes = static_cast<int64_t>(dtype_bytes(table.dtype, table.cols));
  dispatch_dtype(table.dtype, [&]<DType DT>() {
    embed_kernel<DT><<<static_cast<unsigned>(T), kThreads, 0, s>>>(
        static_cast<const uint8_t*>(table.data), table.rows, table.cols, row_bytes, row_begin, ids,
        out);
  });
  check_launch();
}

void broadcast_bias(float* y, const float* bias, int64_t T, int64_t rows, bool accumulate,
                    cudaStream_t s) {
  if (T * rows <= 0) return;
  bias_kernel<<<grid_for(T * rows), kThreads, 0, s>>>(y, bias, T, rows, accumulate);
  check_launch();
}

void dequantize(const WeightView& w, float* out, cudaStream_t s) {
  if (w.rows * w.cols <= 0) return;
  const auto row_bytes = static_cast<int64_t>(dtype_bytes(w.dtype, w.cols));
  dispatch_dtype(w.dtype, [&]<DType DT>() {
    dequantize_kernel<DT><<<grid_for(w.rows * w.cols), kThreads, 0, s>>>(
        static_cast<const uint8_t*>(w.data), w.rows, w.cols, row_bytes, out);
  });
  check_launch();
}

void to_half(const float* x, int64_t n, bool bf16, void* out, cudaStream_t s) {
  if (n <= 0) return;
  to_half_kernel<<<grid_for(n), kThreads, 0, s>>>(x, n, bf16, out);
  check_launch();
}

}  // namespace tplm::cuda
