// Decode matrix-vector products: y = x W^T for one token, reading each weight
// byte once. Each warp takes two rows (or the same row of gate and up) and its
// lanes stride over them in 16-byte loads (F16/BF16: 8 elements, F32: 4), or
// one element of every 32-element block (Q8_0, Q4_0), converting in registers
// and accumulating in f32; a warp's sums are added by shuffles. x is read
// through L1 where it is used as is; with a fused rmsnorm the block first
// stages x * norm_weight in shared memory in one round of loads, and the
// scalar 1 / rms multiplies each row's sum at the end:
//   rmsnorm(x) W^T = (1 / rms(x)) ((x * g) W^T).
#include <algorithm>
#include <atomic>
#include <string>

#include "backend/cuda/device_dtype.cuh"
#include "backend/cuda/kernels.cuh"
#include "backend/cuda/reduce.cuh"
#include "base/cuda_check.hpp"

namespace tplm::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kRowsPerWarp = 2;  // Store / Add; SwiGLU takes one row of two matrices
constexpr int kUnroll = 4;       // 16-byte loads in flight per row and lane

struct Out {
  const uint8_t* w;
  int64_t rows;
  int64_t row_bytes;
  const float* bias;
  float* y;
  int64_t first_block;
};
struct Params {
  const float* x;
  int64_t cols;
  const float* norm_weight;
  float eps;
  float* h;
  Out out[3];
  int n_out;
};

__host__ __device__ __forceinline__ bool aligned16(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & 15) == 0;
}

// xs = x * norm_weight in shared memory; returns 1 / rms(x). Block 0 also
// writes h = rmsnorm(x) * norm_weight.
__device__ float stage_normed(const Params& p, float* xs) {
  float ss = 0.0f;
  if ((p.cols & 3) == 0 && aligned16(p.x) && aligned16(p.norm_weight)) {
    const float4* x4 = reinterpret_cast<const float4*>(p.x);
    const float4* g4 = reinterpret_cast<const float4*>(p.norm_weight);
    float4* s4 = reinterpret_cast<float4*>(xs);
#pragma unroll 4
    for (int64_t i = threadIdx.x; i < p.cols / 4; i += blockDim.x) {
      const float4 v = x4[i], g = g4[i];
      ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
      s4[i] = make_float4(v.x * g.x, v.y * g.y, v.z * g.z, v.w * g.w);
    }
  } else {
    for (int64_t i = threadIdx.x; i < p.cols; i += blockDim.x) {
      const float v = p.x[i];
      ss += v * v;
      xs[i] = v * p.norm_weight[i];
    }
  }
  ss = block_sum(ss);  // synchronizes: xs is complete
  const float inv = 1.0f / sqrtf(ss / static_cast<float>(p.cols) + p.eps);
  if (blockIdx.x == 0 && p.h != nullptr)
    for (int64_t i = threadIdx.x; i < p.cols; i += blockDim.x) p.h[i] = xs[i] * inv;
  return inv;
}

// Weight loads bypass L1: each byte is used once.
__device__ __forceinline__ uint4 load_stream(const uint4* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

template <DType DT>
__device__ __forceinline__ float dot_chunk(const uint4& w, const float* x) {
  if constexpr (DT == DType::F32) {
    const float4 a = *reinterpret_cast<const float4*>(x);
    return __uint_as_float(w.x) * a.x + __uint_as_float(w.y) * a.y + __uint_as_float(w.z) * a.z +
           __uint_as_float(w.w) * a.w;
  } else {
    const float4 a = *reinterpret_cast<const float4*>(x);
    const float4 b = *reinterpret_cast<const float4*>(x + 4);
    const uint32_t u[4] = {w.x, w.y, w.z, w.w};
    float lo[4], hi[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      if constexpr (DT == DType::BF16) {
        lo[i] = __uint_as_float(u[i] << 16);
        hi[i] = __uint_as_float(u[i] & 0xffff0000u);
      } else {
        const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&u[i]));
        lo[i] = f.x;
        hi[i] = f.y;
      }
    }
    return lo[0] * a.x + hi[0] * a.y + lo[1] * a.z + hi[1] * a.w + lo[2] * b.x + hi[2] * b.y +
           lo[3] * b.z + hi[3] * b.w;
  }
}

// acc[r] += lane's share of row r . x, for 16-byte-aligned F32/F16/BF16 rows.
template <DType DT, int N>
__device__ __forceinline__ void dot_vector(const uint8_t* const (&rows)[N], const float* xs,
                                           int64_t cols, int lane, float (&acc)[N]) {
  constexpr int kElems = DT == DType::F32 ? 4 : 8;
  const int64_t chunks = cols / kElems;
  for (int64_t base = lane; base < chunks; base += 32 * kUnroll) {
    uint4 w[N][kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t c = base + u * 32;
#pragma unroll
      for (int r = 0; r < N; ++r)
        w[r][u] = c < chunks ? load_stream(reinterpret_cast<const uint4*>(rows[r]) + c)
                             : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t c = base + u * 32;
      if (c < chunks) {
#pragma unroll
        for (int r = 0; r < N; ++r) acc[r] += dot_chunk<DT>(w[r][u], xs + c * kElems);
      }
    }
  }
}

// Quantized rows: lane j takes element j of every block (its weight byte is
// one coalesced load per warp, its x value a conflict-free shared read); the
// block's scale multiplies the lane's sum of that block.
template <DType DT, int N>
__device__ __forceinline__ void dot_blocks(const uint8_t* const (&rows)[N], const float* xs,
                                           int64_t cols, int lane, float (&acc)[N]) {
  constexpr int kBytes = DT == DType::Q8_0 ? kQ8Bytes : kQ4Bytes;
  const int64_t blocks = cols / kQBlock;
  for (int64_t b = 0; b < blocks; ++b) {
    const float x = xs[b * kQBlock + lane];
#pragma unroll
    for (int r = 0; r < N; ++r) {
      const uint8_t* blk = rows[r] + b * kBytes;
      const float d = f16_bits(load_u16(blk));
      int q;
      if constexpr (DT == DType::Q8_0) {
        q = static_cast<int8_t>(blk[2 + lane]);
      } else {
        const uint8_t byte = blk[2 + (lane & 15)];
        q = (lane < 16 ? (byte & 0x0f) : (byte >> 4)) - 8;
      }
      acc[r] += d * (static_cast<float>(q) * x);
    }
  }
}

// Any layout: lane strides over elements (rows not 16-byte aligned).
template <DType DT, int N>
__device__ __forceinline__ void dot_elements(const uint8_t* const (&rows)[N], const float* xs,
                                             int64_t cols, int lane, float (&acc)[N]) {
  for (int64_t c = lane; c < cols; c += 32) {
#pragma unroll
    for (int r = 0; r < N; ++r) acc[r] += load_elem<DT>(rows[r], c) * xs[c];
  }
}

template <DType DT, bool kVector, int N>
__device__ __forceinline__ void dot_rows(const uint8_t* const (&rows)[N], const float* xs,
                                         int64_t cols, int lane, float (&acc)[N]) {
  if constexpr (DT == DType::Q8_0 || DT == DType::Q4_0)
    dot_blocks<DT, N>(rows, xs, cols, lane, acc);
  else if constexpr (kVector)
    dot_vector<DT, N>(rows, xs, cols, lane, acc);
  else
    dot_elements<DT, N>(rows, xs, cols, lane, acc);
#pragma unroll
  for (int r = 0; r < N; ++r) acc[r] = warp_sum(acc[r]);
}

template <DType DT, bool kVector, GemvMode kMode, bool kNorm>
__global__ void __launch_bounds__(kThreads) gemv_kernel(const Params p) {
  extern __shared__ float4 shared_x[];
  const float* xs = p.x;
  float scale = 1.0f;
  if constexpr (kNorm) {
    scale = stage_normed(p, reinterpret_cast<float*>(shared_x));
    xs = reinterpret_cast<const float*>(shared_x);
  }
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  if constexpr (kMode == GemvMode::SwiGLU) {
    const Out& g = p.out[0];
    const Out& u = p.out[1];
    const int64_t r = static_cast<int64_t>(blockIdx.x) * kWarps + warp;
    if (r >= g.rows) return;
    const uint8_t* rows[2] = {g.w + r * g.row_bytes, u.w + r * u.row_bytes};
    float acc[2] = {0.0f, 0.0f};
    dot_rows<DT, kVector, 2>(rows, xs, p.cols, lane, acc);
    if (lane == 0) {
      const float gate = acc[0] * scale, up = acc[1] * scale;
      g.y[r] = gate * (1.0f / (1.0f + expf(-gate))) * up;
    }
  } else {
    int o = 0;
    while (o + 1 < p.n_out && static_cast<int64_t>(blockIdx.x) >= p.out[o + 1].first_block) ++o;
    const Out& out = p.out[o];
    const int64_t r0 =
        (static_cast<int64_t>(blockIdx.x) - out.first_block) * kWarps * kRowsPerWarp +
        warp * kRowsPerWarp;
    if (r0 >= out.rows) return;
    const int64_t r1 = r0 + 1 < out.rows ? r0 + 1 : r0;
    const uint8_t* rows[2] = {out.w + r0 * out.row_bytes, out.w + r1 * out.row_bytes};
    float acc[2] = {0.0f, 0.0f};
    dot_rows<DT, kVector, 2>(rows, xs, p.cols, lane, acc);
    if (lane == 0) {
      const int64_t r[2] = {r0, r1};
      for (int i = 0; i < (r1 != r0 ? 2 : 1); ++i) {
        const float v = acc[i] * scale + (out.bias != nullptr ? out.bias[r[i]] : 0.0f);
        if constexpr (kMode == GemvMode::Add)
          out.y[r[i]] += v;
        else
          out.y[r[i]] = v;
      }
    }
  }
}

int max_shared_bytes(int device) {
  int v = 0;
  TPLM_CUDA_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  return v;
}

// The dynamic shared memory a block may ask for: the device's opt-in limit
// less the kernels' static shared memory (the reductions' few floats).
constexpr int kStaticSharedReserve = 1024;
int max_input_bytes(int device) {
  return max_shared_bytes(device) - kStaticSharedReserve;
}

// Whether the 16-byte loads of dot_vector fit every row of every output.
bool vector_rows(const GemvCall& c) {
  const DType dt = c.out[0].w.dtype;
  const int64_t elems = dt == DType::F32 ? 4 : 8;
  if (c.cols % elems != 0) return false;
  if (c.norm_weight == nullptr && !aligned16(c.x)) return false;  // x read as float4 from global
  for (int i = 0; i < c.n_out; ++i)
    if (!aligned16(c.out[i].w.data)) return false;
  return true;
}

template <DType DT, bool kVector, GemvMode kMode, bool kNorm>
void launch(const Params& p, int64_t blocks, cudaStream_t stream) {
  const size_t shared = kNorm ? static_cast<size_t>(p.cols) * sizeof(float) : 0;
  auto kernel = gemv_kernel<DT, kVector, kMode, kNorm>;
  // Above the default 48 KiB a kernel must ask for more shared memory, once
  // per device (before any recording of a step: the first step runs eagerly).
  static std::atomic<uint64_t> raised{0};
  if (shared > 48 * 1024) {
    int device = 0;
    TPLM_CUDA_CHECK(cudaGetDevice(&device));
    const uint64_t bit = uint64_t{1} << (device % 64);
    if ((raised.fetch_or(bit) & bit) == 0) {
      cudaFuncAttributes attr{};
      TPLM_CUDA_CHECK(cudaFuncGetAttributes(&attr, kernel));
      TPLM_CUDA_CHECK(cudaFuncSetAttribute(
          kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
          max_shared_bytes(device) - static_cast<int>(attr.sharedSizeBytes)));
    }
  }
  kernel<<<static_cast<unsigned>(blocks), kThreads, shared, stream>>>(p);
  TPLM_CUDA_CHECK(cudaGetLastError());
}

template <DType DT, GemvMode kMode>
void launch_dtype(const Params& p, int64_t blocks, bool vector, cudaStream_t stream) {
  const bool norm = p.norm_weight != nullptr;
  if (vector && norm)
    launch<DT, true, kMode, true>(p, blocks, stream);
  else if (vector)
    launch<DT, true, kMode, false>(p, blocks, stream);
  else if (norm)
    launch<DT, false, kMode, true>(p, blocks, stream);
  else
    launch<DT, false, kMode, false>(p, blocks, stream);
}

}  // namespace

bool gemv_supported(const GemvCall& c, int device) {
  if (c.n_out < 1 || c.n_out > 3 || c.cols <= 0) return false;
  for (int i = 0; i < c.n_out; ++i)
    if (c.out[i].w.dtype != c.out[0].w.dtype || c.out[i].w.cols != c.cols) return false;
  if (c.mode == GemvMode::SwiGLU && (c.n_out != 2 || c.out[0].w.rows != c.out[1].w.rows))
    return false;
  return c.norm_weight == nullptr ||
         static_cast<int64_t>(sizeof(float)) * c.cols <= max_input_bytes(device);
}

void gemv(const GemvCall& c, cudaStream_t stream) {
  Params p{};
  p.x = c.x;
  p.cols = c.cols;
  p.norm_weight = c.norm_weight;
  p.eps = c.eps;
  p.h = c.h;
  p.n_out = c.n_out;
  const int64_t rows_per_block =
      c.mode == GemvMode::SwiGLU ? kWarps : static_cast<int64_t>(kWarps) * kRowsPerWarp;
  int64_t blocks = 0;
  for (int i = 0; i < c.n_out; ++i) {
    const WeightView& w = c.out[i].w;
    p.out[i] = Out{static_cast<const uint8_t*>(w.data),
                   w.rows,
                   static_cast<int64_t>(dtype_bytes(w.dtype, w.cols)),
                   c.out[i].bias,
                   c.out[i].y,
                   blocks};
    if (c.mode != GemvMode::SwiGLU || i == 0)
      blocks += (w.rows + rows_per_block - 1) / rows_per_block;
  }
  if (blocks == 0) return;
  const bool vector = vector_rows(c);
  dispatch_dtype(c.out[0].w.dtype, [&]<DType DT>() {
    switch (c.mode) {
      case GemvMode::Store:
        launch_dtype<DT, GemvMode::Store>(p, blocks, vector, stream);
        break;
      case GemvMode::Add:
        launch_dtype<DT, GemvMode::Add>(p, blocks, vector, stream);
        break;
      case GemvMode::SwiGLU:
        launch_dtype<DT, GemvMode::SwiGLU>(p, blocks, vector, stream);
        break;
    }
  });
}

}  // namespace tplm::cuda
