// Activation quantization (one portable function for every kernel level, so
// every level multiplies the same integers) and the scalar integer kernels:
// the reference the SIMD levels match bit for bit (see kernels.hpp).
#include "backend/cpu/qdot.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu/cpu_features.hpp"
#include "backend/cpu/dequant.hpp"
#include "format/half.hpp"

namespace tplm::cpu {

bool is_int_dot_type(DType t) {
  switch (t) {
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
      return true;
    default:
      return false;
  }
}

bool is_k_quant(DType t) {
  return t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K;
}

int weight_offset(DType t) {
  switch (t) {
    case DType::Q8_0:
      return 128;
    case DType::Q4_0:
      return 8;
    case DType::Q6_K:
      return 32;
    default:
      return 0;
  }
}

void prepare_acts(QuantActs& a, DType wtype, int64_t T, int64_t cols) {
  a.wtype = wtype;
  a.T = T;
  a.cols = cols;
  a.block = dtype_traits(wtype).block_elems;
  const bool q32 = a.block == 32, q6 = wtype == DType::Q6_K;
  a.groups = q6 ? 0 : q32_groups(cols);  // Q4_K, Q5_K: sub-blocks of 32 as blocks
  a.dstride = q32 ? kGroupBlocks * a.groups : cols / a.block;
  a.q.resize(static_cast<size_t>(T * cols));
  a.d.resize(static_cast<size_t>(T * a.dstride));
  a.qt.resize(static_cast<size_t>(T * (q6 ? cols : 512 * a.groups)));
  a.iblk.resize(static_cast<size_t>(T * kGroupBlocks * a.groups));
  a.isub.resize(q6 ? static_cast<size_t>(T * (cols / 16)) : 0);
  a.bsum.resize(static_cast<size_t>(T * (cols / 32)));
  const bool k_lanes =  // only the AVX-512 tiles read them
      (wtype == DType::Q4_K || wtype == DType::Q5_K) && cpu_level() == CpuLevel::Avx512;
  a.klanes.resize(k_lanes ? static_cast<size_t>(T * 32 * a.groups) : 0);
}

namespace {

// Round to nearest, ties to even, for |v| < 2^22, in plain float arithmetic.
inline float round_even(float v) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  return (v + kMagic) - kMagic;
}

}  // namespace

namespace {

// Token t's K-quant lanes (QuantActs::klanes) from its d and bsum: the float
// operations the AVX-512 tiles did per group, once per call.
void k_token_lanes(QuantActs& a, int64_t t) {
  const int64_t nB = a.cols / 256;
  const float* d = a.drow(t);
  const int32_t* bs = a.bsumrow(t);
  float* out = a.klanes.data() + t * 32 * a.groups;
  for (int64_t g = 0; g < a.groups; ++g)
    for (int l = 0; l < 16; ++l) {
      const int64_t B = 2 * g + l / 8;
      const float dx = B < nB ? d[B] : 0.0f;
      out[32 * g + l] = dx;
      out[32 * g + 16 + l] = B < nB ? static_cast<float>(bs[16 * g + l]) * dx : 0.0f;
    }
}

// Token t's Q8_0 / Q4_0 extras: each block's q in the order of QuantActs::qt,
// and -offset * its sum (bsum); the padding past the row's blocks is 0.
void group_acts(QuantActs& a, int64_t t) {
  const int64_t nb = a.cols / 32;
  const int32_t off = weight_offset(a.wtype);
  const int8_t* q = a.qrow(t);
  const int32_t* bs = a.bsumrow(t);
  int8_t* qt = a.qt.data() + t * 512 * a.groups;
  int32_t* ib = a.iblk.data() + t * kGroupBlocks * a.groups;
  float* d = a.d.data() + t * a.dstride;
  std::fill(qt + 512 * (nb / kGroupBlocks), qt + 512 * a.groups, int8_t{0});
  for (int64_t b = 0; b < kGroupBlocks * a.groups; ++b) {
    int8_t* g = qt + 512 * (b / kGroupBlocks) + 4 * (b % kGroupBlocks);
    if (b < nb) {
      for (int k = 0; k < 8; ++k) std::memcpy(g + 64 * k, q + 32 * b + 4 * k, 4);
      ib[b] = -off * bs[b];
    } else {
      ib[b] = 0;
      d[b] = 0.0f;
    }
  }
}

}  // namespace

void quantize_blocks_scalar(const float* x, int64_t n_blocks, int64_t B, int8_t* q, float* d) {
  for (int64_t b = 0; b < n_blocks; ++b) {
    float amax = 0.0f;
    // std::max, not std::fmax: the same values here (amax starts at 0 and
    // never is NaN) and inlined, where fmax is a libm call per element.
    for (int64_t i = 0; i < B; ++i) amax = std::max(amax, std::fabs(x[b * B + i]));
    const float db = amax / 127.0f;
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    d[b] = db;
    for (int64_t i = 0; i < B; ++i) {
      float v = round_even(x[b * B + i] * id);
      v = std::min(127.0f, std::max(-127.0f, v));  // a NaN v gives -127 either way
      q[b * B + i] = static_cast<int8_t>(v);
    }
  }
}

void quantize_acts_rows(const float* x, QuantActs& a, int64_t t0, int64_t t1) {
  const int64_t cols = a.cols, B = a.block, nb = cols / B;
  for (int64_t t = t0; t < t1; ++t) {
    const float* xt = x + t * cols;
    int8_t* q = a.q.data() + t * cols;
    float* d = a.d.data() + t * a.dstride;
#if defined(__x86_64__)
    if (cpu_level() == CpuLevel::Avx512)
      quantize_blocks_avx512(xt, nb, B, q, d);
    else
#endif
      quantize_blocks_scalar(xt, nb, B, q, d);
    int32_t* bs = a.bsum.data() + t * (cols / 32);
    const int32_t off = weight_offset(a.wtype);
#if defined(__x86_64__)
    if (cpu_level() == CpuLevel::Avx512) {
      int8_t* qt = a.qt.data() + t * (a.groups > 0 ? 512 * a.groups : cols);
      if (a.groups > 0) {
        group_acts_avx512(q, cols / 32, a.groups, off, bs, qt, a.iblk.data() + t * 16 * a.groups);
        if (B == 32) std::fill(d + nb, d + a.dstride, 0.0f);
        if (!a.klanes.empty()) k_token_lanes(a, t);
      } else {  // Q6_K
        group_acts16_avx512(q, nb, off, qt, a.isub.data() + t * (cols / 16));
      }
      continue;
    }
#endif
    for (int64_t g = 0; g < cols / 32; ++g) {
      int32_t s = 0;
      for (int i = 0; i < 32; ++i) s += q[32 * g + i];
      bs[g] = s;
    }
    if (B == 32) group_acts(a, t);
    if (!a.isub.empty()) {
      int32_t* is = a.isub.data() + t * (cols / 16);
      for (int64_t g = 0; g < cols / 16; ++g) {
        int32_t sum = 0;
        for (int i = 0; i < 16; ++i) sum += q[16 * g + i];
        is[g] = -off * sum;
      }
    }
  }
}

namespace {

// Block b (32 elements) of a Q8_0 / Q4_0 row as unsigned integers u (element = u - offset).
void unpack32(DType dt, const uint8_t* row, int64_t b, uint8_t* u, float* d) {
  if (dt == DType::Q8_0) {
    const uint8_t* blk = row + 34 * b;
    *d = f16_to_f32(load_u16(blk));
    for (int i = 0; i < 32; ++i) u[i] = static_cast<uint8_t>(blk[2 + i] ^ 0x80);
  } else {
    const uint8_t* blk = row + 18 * b;
    *d = f16_to_f32(load_u16(blk));
    for (int i = 0; i < 16; ++i) {
      u[i] = blk[2 + i] & 0x0f;
      u[i + 16] = blk[2 + i] >> 4;
    }
  }
}

// One K-quant super-block: unsigned values u[256], the integer scale of each
// sub-block (k_subs of them), the 8 mins (Q4_K, Q5_K), d and dmin.
struct KBlock {
  uint8_t u[256];
  int32_t sc[16];
  int32_t m[8];
  float d, dmin;
};

void unpack_k(DType dt, const uint8_t* blk, KBlock& k) {
  if (dt == DType::Q6_K) {
    const uint8_t* ql = blk;
    const uint8_t* qh = blk + 128;
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, j = (e % 128) / 32, i = e % 32;
      const int lo = (ql[64 * h + 32 * (j % 2) + i] >> (4 * (j / 2))) & 0x0f;
      const int hi = (qh[32 * h + i] >> (2 * j)) & 3;
      k.u[e] = static_cast<uint8_t>(lo | (hi << 4));
    }
    for (int g = 0; g < 16; ++g) k.sc[g] = static_cast<int8_t>(blk[192 + g]);
    k.d = f16_to_f32(load_u16(blk + 208));
    k.dmin = 0.0f;
    return;
  }
  k.d = f16_to_f32(load_u16(blk));
  k.dmin = f16_to_f32(load_u16(blk + 2));
  unpack_k_scales(blk + 4, k.sc, k.m);
  const bool five = dt == DType::Q5_K;
  const uint8_t* qh = blk + 16;
  const uint8_t* qs = five ? blk + 48 : blk + 16;
  for (int e = 0; e < 256; ++e) {
    const int j = e / 64, s = (e / 32) % 2, i = e % 32;
    int q = (qs[32 * j + i] >> (4 * s)) & 0x0f;
    if (five) q |= ((qh[i] >> (e / 32)) & 1) << 4;
    k.u[e] = static_cast<uint8_t>(q);
  }
}

}  // namespace

void prepare_packed(PackedRows& p, DType dt, int64_t rows, int64_t cols) {
  const int64_t block = dtype_traits(dt).block_elems;
  const bool k = block == 256, mins = dt == DType::Q4_K || dt == DType::Q5_K;
  p.dtype = dt;
  p.rows = rows;
  p.cols = cols;
  p.block = block;
  p.ustride = k ? cols : 512 * q32_groups(cols);
  p.dstride = k ? cols / block : kGroupBlocks * q32_groups(cols);
  p.subs = k ? k_subs(dt) : 0;
  p.u.resize(static_cast<size_t>(rows * p.ustride));
  p.d.assign(static_cast<size_t>(rows * p.dstride), 0.0f);
  p.dmin.resize(mins ? static_cast<size_t>(rows * (cols / 256)) : 0);
  p.sc.resize(k ? static_cast<size_t>(rows * p.subs * (cols / 256)) : 0);
  p.m.resize(mins ? static_cast<size_t>(rows * (cols / 32)) : 0);
}

namespace {

// Row i of p from the weight row at `row` (the file's layout).
void pack_row_scalar(const uint8_t* row, int64_t i, PackedRows& p) {
  const DType dt = p.dtype;
  uint8_t* u = p.u.data() + i * p.ustride;
  if (dtype_traits(dt).block_elems == 32) {
    for (int64_t b = 0; b < p.cols / 32; ++b) {
      float db;
      unpack32(dt, row, b, u + 32 * b, &db);
      pack_scales(p, i, b, db);
    }
    return;
  }
  const int64_t bytes = dtype_traits(dt).block_bytes;
  KBlock k;
  for (int64_t B = 0; B < p.cols / 256; ++B) {
    unpack_k(dt, row + B * bytes, k);
    std::copy(k.u, k.u + 256, u + 256 * B);
    pack_k_scales(p, i, B, k.d, k.sc, k.dmin, k.m);
  }
}

}  // namespace

void pack_rows_scalar(const uint8_t* const* wrow, int64_t n, PackedRows& p) {
  for (int64_t i = 0; i < n; ++i) pack_row_scalar(wrow[i], i, p);
}

namespace {

// One regrouped row's group g: where it starts, how many blocks it has.
struct Group {
  int64_t first_block, n;
  int64_t start(int64_t block_bytes) const { return first_block * block_bytes; }
};

Group group_of(int64_t nb, int64_t g) {
  return {kGroupBlocks * g, std::min<int64_t>(kGroupBlocks, nb - kGroupBlocks * g)};
}

}  // namespace

bool groups_on_load(DType dt) {
  return is_int_dot_type(dt) && cpu_level() == CpuLevel::Avx512;
}

void group_rows(const WeightView& file, void* out) {
  if (is_k_quant(file.dtype)) return group_k_rows(file, out);
  const bool q8 = file.dtype == DType::Q8_0;
  const int64_t bb = q8 ? 34 : 18, nb = file.cols / 32, steps = (bb - 2) / 4;
  const uint8_t flip = q8 ? 0x80 : 0x00;
  for (int64_t r = 0; r < file.rows; ++r) {
    const uint8_t* row = static_cast<const uint8_t*>(file.data) + r * nb * bb;
    uint8_t* dst = static_cast<uint8_t*>(out) + r * nb * bb;
    for (int64_t g = 0; g < q32_groups(file.cols); ++g) {
      const Group G = group_of(nb, g);
      const uint8_t* src = row + G.start(bb);
      uint8_t* o = dst + G.start(bb);
      for (int64_t l = 0; l < G.n; ++l) std::copy(src + bb * l, src + bb * l + 2, o + 2 * l);
      uint8_t* q = o + 2 * G.n;
      for (int64_t k = 0; k < steps; ++k)
        for (int64_t l = 0; l < G.n; ++l)
          for (int j = 0; j < 4; ++j)
            q[4 * G.n * k + 4 * l + j] = static_cast<uint8_t>(src[bb * l + 2 + 4 * k + j] ^ flip);
    }
  }
}

void ungroup_rows(const uint8_t* const* wrow, int64_t n, PackedRows& p) {
  if (is_k_quant(p.dtype)) {
    thread_local std::vector<uint8_t> file;
    file.resize(dtype_bytes(p.dtype, p.cols));
    for (int64_t i = 0; i < n; ++i) {
      ungroup_row(p.dtype, p.cols, wrow[i], file.data());
      pack_row_scalar(file.data(), i, p);
    }
    return;
  }
  const bool q8 = p.dtype == DType::Q8_0;
  const int64_t bb = q8 ? 34 : 18, nb = p.cols / 32, steps = (bb - 2) / 4;
  for (int64_t i = 0; i < n; ++i) {
    uint8_t* u = p.u.data() + i * p.ustride;
    for (int64_t g = 0; g < q32_groups(p.cols); ++g) {
      const Group G = group_of(nb, g);
      const uint8_t* src = wrow[i] + G.start(bb);
      const uint8_t* q = src + 2 * G.n;
      for (int64_t l = 0; l < G.n; ++l) {
        const int64_t b = G.first_block + l;
        pack_scales(p, i, b, f16_to_f32(load_u16(src + 2 * l)));
        for (int64_t k = 0; k < steps; ++k)
          for (int j = 0; j < 4; ++j) {
            const uint8_t v = q[4 * G.n * k + 4 * l + j];
            if (q8) {
              u[32 * b + 4 * k + j] = v;
            } else {
              u[32 * b + 4 * k + j] = v & 0x0f;
              u[32 * b + 16 + 4 * k + j] = v >> 4;
            }
          }
      }
    }
  }
}

namespace {

// One output: packed row i times token t's activations (the arithmetic every
// level does, see kernels.hpp).
float dot_packed(const PackedRows& p, int64_t i, const QuantActs& a, int64_t t) {
  const int8_t* x = a.qrow(t);
  const float* dx = a.drow(t);
  const uint8_t* u = p.urow(i);
  const float* dw = p.drow(i);
  const int o = weight_offset(p.dtype);
  float acc[16] = {};
  if (a.block == 32) {
    for (int64_t b = 0; b < a.cols / 32; ++b) {
      int32_t S = 0;
      for (int64_t e = 32 * b; e < 32 * b + 32; ++e) S += (u[e] - o) * x[e];
      float& lane = acc[b % kGroupBlocks];
      lane = std::fma(static_cast<float>(S), dw[b] * dx[b], lane);
    }
    return hsum16(acc);
  }
  // K-quants: sub-block j of super-block B goes to lane j (Q6_K, 16
  // sub-blocks) or 8 (B mod 2) + j (Q4_K, Q5_K, 8 sub-blocks).
  const bool mins = !p.m.empty();
  const int subs = static_cast<int>(p.subs), len = 256 / subs;
  // d * sc and dmin * m are exact (an f16 times a 6- or 8-bit integer).
  for (int64_t B = 0; B < a.cols / 256; ++B) {
    for (int j = 0; j < subs; ++j) {
      const int64_t e0 = 256 * B + len * j;
      int32_t S = 0;
      for (int64_t e = e0; e < e0 + len; ++e) S += (u[e] - o) * x[e];
      float& lane = acc[subs == 16 ? j : 8 * (B % 2) + j];
      const float dsc = dw[B] * static_cast<float>(p.scrow(i)[subs * B + j]);
      lane = std::fma(static_cast<float>(S), dsc * dx[B], lane);
      if (mins) {
        const float mdmin = p.dminrow(i)[B] * static_cast<float>(p.mrow(i)[8 * B + j]);
        lane = std::fma(-mdmin, static_cast<float>(a.bsumrow(t)[8 * B + j]) * dx[B], lane);
      }
    }
  }
  return hsum16(acc);
}

}  // namespace

// Each row is unpacked once, then multiplied by every token.
void qmatmul_rows_scalar(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                         int64_t r0, int64_t r1) {
  thread_local PackedRows p;
  prepare_packed(p, w.dtype, 1, w.cols);
  const int64_t rb = row_bytes(w);
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row[1] = {static_cast<const uint8_t*>(w.data) + r * rb};
    if (w.layout == WeightLayout::CpuGroups)
      ungroup_rows(row, 1, p);
    else
      pack_rows_scalar(row, 1, p);
    for (int64_t t = 0; t < a.T; ++t)
      y[t * w.rows + r] = dot_packed(p, 0, a, t) + (bias ? bias[r] : 0.0f);
  }
}

}  // namespace tplm::cpu
