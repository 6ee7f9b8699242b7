#pragma once
// Quantized weights times activations in the integer domain (see kernels.hpp
// for the contract). Each matmul call quantizes every token's activation row
// once, in blocks that pair with the weight type as in llama.cpp:
//   Q8_0, Q4_0 weights  <->  32-element blocks:  d = max|x| / 127, q = round(x / d)
//   Q4_K, Q5_K, Q6_K    <-> 256-element blocks   (llama.cpp's Q8_K)
// and every kernel level computes exact int8 x int8 (u8 x s8) dot products per
// group of 4 elements, then the same float arithmetic in the same order.
#include <cstdint>
#include <vector>

#include "backend/backend.hpp"

namespace tplm::cpu {

// The weight types the integer kernels take.
bool is_int_dot_type(DType t);

// A weight element is an unsigned integer u minus the type's offset:
// Q8_0 128 (u = q + 128), Q4_0 8, Q6_K 32, Q4_K / Q5_K 0 (they subtract a min).
int weight_offset(DType t);

// Activation rows of T tokens quantized for weights of type `wtype`.
struct QuantActs {
  DType wtype = DType::Q8_0;
  int64_t T = 0, cols = 0;
  int64_t block = 32;         // elements per scale: 32 or 256
  std::vector<int8_t> q;      // [T, cols], in [-127, 127]
  std::vector<float> d;       // [T, cols / block]
  std::vector<int32_t> init;  // [T, cols / 4]: -offset * (sum of 4 consecutive q)
  std::vector<int32_t> bsum;  // [T, cols / 32]: sum of 32 consecutive q
  std::vector<float> d8;      // [T, 8 * (cols / 32)]: Q8_0, Q4_0: each d 8 times (a vector's lanes)
  const int8_t* qrow(int64_t t) const { return q.data() + t * cols; }
  const float* drow(int64_t t) const { return d.data() + t * (cols / block); }
  const int32_t* initrow(int64_t t) const { return init.data() + t * (cols / 4); }
  const int32_t* bsumrow(int64_t t) const { return bsum.data() + t * (cols / 32); }
  const float* d8row(int64_t t) const { return d8.data() + t * 8 * (cols / 32); }
};

// Rows of a quantized weight unpacked once per matmul call (per thread and
// tile of rows) for every token: the GEMM for T > 1 decodes each weight block
// once per call, not once per token tile. The layout is the same at every
// level, and it holds exactly the integers and scales the direct kernels read,
// so a packed tile's outputs are the direct tile's bits.
struct PackedRows {
  DType dtype = DType::Q8_0;
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> u;    // [rows, cols]: element = u - weight_offset (Q8_0: q ^ 0x80)
  std::vector<float> d;      // [rows, dstride]: each block's (super-block's) d, 8 times
  std::vector<float> dmin;   // [rows, cols / 256]: Q4_K, Q5_K
  std::vector<int32_t> lsc;  // [rows, cols / 4]: K-quants: lane l of step s of a
                             // super-block has the scale of group 4s + l / 4
  std::vector<int32_t> m;    // [rows, cols / 32]: Q4_K, Q5_K: each sub-block's min
  int64_t dstride = 0;       // 8 per block, + 8 so a 16-float load of the last block stays inside
  const uint8_t* urow(int64_t i) const { return u.data() + i * cols; }
  const float* drow(int64_t i) const { return d.data() + i * dstride; }
  const float* dminrow(int64_t i) const { return dmin.data() + i * (cols / 256); }
  const int32_t* lscrow(int64_t i) const { return lsc.data() + i * (cols / 4); }
  const int32_t* mrow(int64_t i) const { return m.data() + i * (cols / 32); }
};

// Packed row i's scales of block (or super-block) b: d 8 times, and for Q4_K /
// Q5_K dmin and the 8 mins (every level's pack_rows ends with this).
inline void pack_scales(PackedRows& p, int64_t i, int64_t b, float d, float dmin = 0.0f,
                        const int32_t* m = nullptr) {
  float* dd = p.d.data() + i * p.dstride + 8 * b;
  for (int l = 0; l < 8; ++l) dd[l] = d;
  if (m == nullptr || p.m.empty()) return;
  p.dmin[static_cast<size_t>(i * (p.cols / 256) + b)] = dmin;
  for (int j = 0; j < 8; ++j) p.m[static_cast<size_t>(i * (p.cols / 32) + 8 * b + j)] = m[j];
}

// Sizes p for `rows` rows of a weight of type dt with `cols` columns.
void prepare_packed(PackedRows& p, DType dt, int64_t rows, int64_t cols);
// Rows [0, n) of p from the n weight rows at wrow (the portable decoder).
void pack_rows_scalar(const uint8_t* const* wrow, int64_t n, PackedRows& p);

// Sizes a for T rows of cols (a multiple of the block) for weights of type wtype.
void prepare_acts(QuantActs& a, DType wtype, int64_t T, int64_t cols);
// Quantizes tokens [t0, t1) of x ([T, cols]) into a (prepared).
void quantize_acts_rows(const float* x, QuantActs& a, int64_t t0, int64_t t1);

// Rows [r0, r1) of y ([T, w.rows]) = a x W^T (+ bias), one implementation per level.
void qmatmul_rows_scalar(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                         int64_t r0, int64_t r1);
void qmatmul_rows_avx2(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                       int64_t r0, int64_t r1);
void qmatmul_rows_avx512(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                         int64_t r0, int64_t r1);

// The 16-lane float sum every level ends with: lanes i and i + 8, then i and
// i + 4, i and i + 2, then the last two.
inline float hsum16(const float* v) {
  float s8[8], s4[4], s2[2];
  for (int i = 0; i < 8; ++i) s8[i] = v[i] + v[i + 8];
  for (int i = 0; i < 4; ++i) s4[i] = s8[i] + s8[i + 4];
  for (int i = 0; i < 2; ++i) s2[i] = s4[i] + s4[i + 2];
  return s2[0] + s2[1];
}

// The six-bit scales and mins of a Q4_K / Q5_K super-block (12 bytes).
inline void unpack_k_scales(const uint8_t* s, int32_t* sc, int32_t* m) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    m[j] = s[j + 4] & 63;
    sc[j + 4] = (s[j + 8] & 0x0f) | ((s[j] >> 2) & 0x30);
    m[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 2) & 0x30);
  }
}

}  // namespace tplm::cpu
