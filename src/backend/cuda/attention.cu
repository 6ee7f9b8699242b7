// Attention of a few tokens (decode) as split-K "flash decoding": block
// (token t, query head h, split s) scores the cache rows of its chunk,
// softmaxes them locally and keeps (max, sum, sum of p v); a second kernel
// combines the splits. Rows past positions[t] are skipped on the device, so
// the grid depends only on the cache's size and a recorded step replays at
// any position. Prefill (many tokens) uses cuBLAS for QK^T and PV around
// causal_softmax (cuda_backend.cu).
#include <cmath>

#include "backend/cuda/kernels.cuh"
#include "backend/cuda/reduce.cuh"
#include "base/cuda_check.hpp"

namespace tplm::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kChunk = 64;       // cache rows per split: many blocks, short sequential loops
constexpr int kLanesPerRow = 8;  // a warp scores 4 cache rows at once, 8 lanes each

int64_t splits_for(const AttentionShape& a) {
  const int64_t rows = a.context > 0 ? a.context : a.pos0 + a.n_tokens;
  return (rows + kChunk - 1) / kChunk;
}

// row[j] <- exp(row[j] - m) for j < n, m = max_j row[j]; returns (m, sum of
// the exponentials) on every thread. The whole block calls it.
__device__ float2 exp_in_place(float* row, int64_t n) {
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = fmaxf(m, row[j]);
  m = block_max(m);
  float l = 0.0f;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const float e = expf(row[j] - m);
    row[j] = e;
    l += e;
  }
  return make_float2(m, block_sum(l));
}

__global__ void decode_kernel(const float* q, const float* k_cache, const float* v_cache,
                              const int32_t* positions, int64_t n_heads, int64_t n_kv_heads,
                              int64_t head_dim, float* partials, float* out) {
  extern __shared__ float shared[];
  float* qs = shared;                 // [head_dim], scaled
  float* scores = shared + head_dim;  // [kChunk]
  const int64_t th = blockIdx.x, t = th / n_heads, h = th % n_heads;
  const int64_t kvh = h / (n_heads / n_kv_heads), kv_stride = n_kv_heads * head_dim;
  const int64_t n_splits = gridDim.y, split = blockIdx.y;
  const int64_t n_pos = static_cast<int64_t>(positions[t]) + 1;
  const int64_t start = split * kChunk;
  const int64_t end = start + kChunk < n_pos ? start + kChunk : n_pos;
  float* slot = partials + (th * n_splits + split) * (head_dim + 2);
  if (start >= end) {  // the whole block: nothing of the cache is this split's yet
    if (threadIdx.x == 0 && n_splits > 1) slot[0] = -INFINITY, slot[1] = 0.0f;
    return;
  }
  const float scale = 1.0f / sqrtf(static_cast<float>(head_dim));
  for (int64_t d = threadIdx.x; d < head_dim; d += blockDim.x) qs[d] = q[th * head_dim + d] * scale;
  __syncthreads();
  // Each group of 8 lanes scores its own row, so a warp has 4 rows' loads in
  // flight; the loop is the same for every lane of a warp (the shuffles need all 32).
  const int warp = static_cast<int>(threadIdx.x) / 32, warps = static_cast<int>(blockDim.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int group = lane / kLanesPerRow, sub = lane % kLanesPerRow;
  constexpr int kRowsPerWarp = 32 / kLanesPerRow;
  const float* kh = k_cache + kvh * head_dim;
  for (int64_t base = start + warp * kRowsPerWarp; base < end; base += warps * kRowsPerWarp) {
    const int64_t p = base + group;
    float s = 0.0f;
    if (p < end)
      for (int64_t d = sub; d < head_dim; d += kLanesPerRow) s += qs[d] * kh[p * kv_stride + d];
#pragma unroll
    for (int o = kLanesPerRow / 2; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (p < end && sub == 0) scores[p - start] = s;
  }
  __syncthreads();
  const int64_t n = end - start;
  const float2 ml = exp_in_place(scores, n);  // synchronizes: every score is final
  const float m = ml.x, l = ml.y;
  const float* vh = v_cache + kvh * head_dim + start * kv_stride;
  for (int64_t d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float o = 0.0f;
#pragma unroll 8
    for (int64_t j = 0; j < n; ++j) o += scores[j] * vh[j * kv_stride + d];
    if (n_splits == 1)
      out[th * head_dim + d] = o / l;
    else
      slot[2 + d] = o;
  }
  if (threadIdx.x == 0 && n_splits > 1) slot[0] = m, slot[1] = l;
}

// out = sum_s o_s e^(m_s - M) / sum_s l_s e^(m_s - M), M = max_s m_s.
__global__ void combine_kernel(const float* partials, int64_t n_splits, int64_t head_dim,
                               float* out) {
  const int64_t th = blockIdx.x;
  const float* slots = partials + th * n_splits * (head_dim + 2);
  float m = -INFINITY;
  for (int64_t s = 0; s < n_splits; ++s)
    if (slots[s * (head_dim + 2) + 1] > 0.0f) m = fmaxf(m, slots[s * (head_dim + 2)]);
  float l = 0.0f;
  for (int64_t s = 0; s < n_splits; ++s) {
    const float* slot = slots + s * (head_dim + 2);
    if (slot[1] > 0.0f) l += slot[1] * expf(slot[0] - m);
  }
  for (int64_t d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float o = 0.0f;
    for (int64_t s = 0; s < n_splits; ++s) {
      const float* slot = slots + s * (head_dim + 2);
      if (slot[1] > 0.0f) o += slot[2 + d] * expf(slot[0] - m);
    }
    out[th * head_dim + d] = o / l;
  }
}

__global__ void causal_softmax_kernel(float* scores, const int32_t* positions, int64_t T,
                                      int64_t keys) {
  const int64_t t = blockIdx.x, h = blockIdx.y;
  float* row = scores + (h * T + t) * keys;
  const int64_t n = static_cast<int64_t>(positions[t]) + 1;
  const float inv = 1.0f / exp_in_place(row, n).y;
  for (int64_t j = threadIdx.x; j < keys; j += blockDim.x) row[j] = j < n ? row[j] * inv : 0.0f;
}

}  // namespace

int64_t decode_partials_floats(const AttentionShape& a) {
  const int64_t splits = splits_for(a);
  return splits > 1 ? a.n_tokens * a.n_heads * splits * (a.head_dim + 2) : 1;
}

void decode_attention(const float* q, const float* k_cache, const float* v_cache,
                      const AttentionShape& a, float* partials, float* out, cudaStream_t s) {
  const int64_t splits = splits_for(a);
  const dim3 grid(static_cast<unsigned>(a.n_tokens * a.n_heads), static_cast<unsigned>(splits));
  const size_t shared = static_cast<size_t>(a.head_dim + kChunk) * sizeof(float);
  decode_kernel<<<grid, kThreads, shared, s>>>(q, k_cache, v_cache, a.positions, a.n_heads,
                                               a.n_kv_heads, a.head_dim, partials, out);
  TPLM_CUDA_CHECK(cudaGetLastError());
  if (splits > 1) {
    combine_kernel<<<static_cast<unsigned>(a.n_tokens * a.n_heads), kThreads, 0, s>>>(
        partials, splits, a.head_dim, out);
    TPLM_CUDA_CHECK(cudaGetLastError());
  }
}

void causal_softmax(float* scores, const int32_t* positions, int64_t T, int64_t n_heads,
                    int64_t keys, cudaStream_t s) {
  const dim3 grid(static_cast<unsigned>(T), static_cast<unsigned>(n_heads));
  causal_softmax_kernel<<<grid, kThreads, 0, s>>>(scores, positions, T, keys);
  TPLM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace tplm::cuda
