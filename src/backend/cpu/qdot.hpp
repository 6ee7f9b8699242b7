#pragma once
// Quantized weights times activations in the integer domain (see kernels.hpp
// for the contract). Each matmul call quantizes every token's activation row
// once, in blocks that pair with the weight type as in llama.cpp:
//   Q8_0, Q4_0 weights  <->  32-element blocks:  d = max|x| / 127, q = round(x / d)
//   Q4_K, Q5_K, Q6_K    <-> 256-element blocks   (llama.cpp's Q8_K)
// and every kernel level computes the same exact integer sums (u8 x s8
// products: per block for Q8_0 / Q4_0, per group of 4 elements for the
// K-quants), then the same float arithmetic in the same order.
#include <cstdint>
#include <cstring>
#include <vector>

#include "backend/backend.hpp"

namespace tplm::cpu {

// The weight types the integer kernels take.
bool is_int_dot_type(DType t);
// Q4_K, Q5_K, Q6_K: 256-element super-blocks.
bool is_k_quant(DType t);

// A weight element is an unsigned integer u minus the type's offset:
// Q8_0 128 (u = q + 128), Q4_0 8, Q6_K 32, Q4_K / Q5_K 0 (they subtract a min).
int weight_offset(DType t);

// Q8_0 and Q4_0 blocks are taken 16 at a time, a group of 512 elements whose
// block sums fill the 16 float lanes; the last group of a row is padded with
// blocks whose activations, scales and sums are 0 (they add +0 to a lane).
constexpr int64_t kGroupBlocks = 16;
inline int64_t q32_groups(int64_t cols) {
  return (cols / 32 + kGroupBlocks - 1) / kGroupBlocks;
}

// K-quant sub-blocks: each has one integer scale (Q4_K / Q5_K also a min).
inline int k_subs(DType t) {
  return t == DType::Q6_K ? 16 : 8;  // of 16 resp. 32 elements in a super-block
}

// Activation rows of T tokens quantized for weights of type `wtype`.
struct QuantActs {
  DType wtype = DType::Q8_0;
  int64_t T = 0, cols = 0;
  int64_t block = 32;         // elements per scale: 32 or 256
  int64_t dstride = 0;        // floats per token in d: 16 per group, or cols / 256
  int64_t groups = 0;         // Q8_0, Q4_0, Q4_K, Q5_K: q32_groups(cols)
  std::vector<int8_t> q;      // [T, cols], in [-127, 127]
  std::vector<float> d;       // [T, dstride]: each block's scale (0 past the row's blocks)
  std::vector<int8_t> qt;     // AVX-512 only. Q8_0, Q4_0, Q4_K, Q5_K: [T, 512 * groups]: byte
                              // 64k + 4l + j of group g is element 4k + j of 32-element block
                              // 16g + l (0 past the row's blocks). Q6_K: [T, cols]: byte
                              // 64k + 4l + j of super-block B is its element 16l + 4k + j.
  std::vector<int32_t> iblk;  // Q8_0, Q4_0 (AVX-512: also Q4_K, Q5_K, all 0): [T, 16 * groups]:
                              // -offset * (sum of the block's q)
  std::vector<int32_t> isub;  // Q6_K: [T, cols / 16]: -offset * (sum of 16 consecutive q)
  std::vector<int32_t> bsum;  // [T, cols / 32]: sum of 32 consecutive q
  std::vector<float> klanes;  // AVX-512 Q4_K, Q5_K: [T, 32 * groups]: group g's 16 lanes of dx
                              // (lane l: the d of super-block 2g + l / 8, 0 past the row's),
                              // then 16 of float(bsum of sub-block 16g + l) * dx: what every
                              // tile of the call would otherwise compute per group
  const int8_t* qrow(int64_t t) const { return q.data() + t * cols; }
  const float* drow(int64_t t) const { return d.data() + t * dstride; }
  const int8_t* qtrow(int64_t t) const {
    return qt.data() + t * (groups > 0 ? 512 * groups : cols);
  }
  const int32_t* iblkrow(int64_t t) const { return iblk.data() + t * 16 * groups; }
  const int32_t* isubrow(int64_t t) const { return isub.data() + t * (cols / 16); }
  const int32_t* bsumrow(int64_t t) const { return bsum.data() + t * (cols / 32); }
  const float* klanerow(int64_t t) const { return klanes.data() + t * 32 * groups; }
};

// Rows of a quantized weight unpacked once per matmul call (per thread and
// tile of rows) for every token: the GEMM for T > 1 decodes each weight block
// once per call, not once per token tile. It holds exactly the integers and
// scales the direct kernels read, so a packed tile's outputs are the direct
// tile's bits. Rows are in element order, but a Q8_0 / Q4_0 row at the
// AVX-512 level is in the order of QuantActs::qt (one vpdpbusd lane per block).
// (The AVX-512 level never packs K-quant rows: qdot_avx512.cpp reads them regrouped.)
struct PackedRows {
  DType dtype = DType::Q8_0;
  int64_t rows = 0, cols = 0;
  int64_t block = 32;
  std::vector<uint8_t> u;   // [rows, ustride]: element = u - weight_offset (Q8_0: q ^ 0x80)
  std::vector<float> d;     // [rows, dstride]: Q8_0, Q4_0: each block's d (0 past the row's
                            // blocks); K-quants: each super-block's d
  std::vector<float> dmin;  // [rows, cols / 256]: Q4_K, Q5_K
  std::vector<int32_t> sc;  // [rows, k_subs * cols / 256]: K-quants: each sub-block's scale
  std::vector<int32_t> m;   // [rows, cols / 32]: Q4_K, Q5_K: each sub-block's min
  int64_t ustride = 0;      // cols, or 512 per group for Q8_0, Q4_0
  int64_t dstride = 0;      // 16 per group; K-quants cols / 256
  int64_t subs = 0;         // K-quants: sub-blocks per super-block
  const uint8_t* urow(int64_t i) const { return u.data() + i * ustride; }
  const float* drow(int64_t i) const { return d.data() + i * dstride; }
  const float* dminrow(int64_t i) const { return dmin.data() + i * (cols / 256); }
  const int32_t* scrow(int64_t i) const { return sc.data() + i * subs * (cols / 256); }
  const int32_t* mrow(int64_t i) const { return m.data() + i * (cols / 32); }
};

// Packed row i's d of 32-element block b.
inline void pack_scales(PackedRows& p, int64_t i, int64_t b, float d) {
  p.d[static_cast<size_t>(i * p.dstride + b)] = d;
}

// Packed row i's scales of super-block B: d, its sub-blocks' scales sc, and
// for Q4_K / Q5_K dmin and the 8 mins m.
inline void pack_k_scales(PackedRows& p, int64_t i, int64_t B, float d, const int32_t* sc,
                          float dmin = 0.0f, const int32_t* m = nullptr) {
  p.d[static_cast<size_t>(i * p.dstride + B)] = d;
  for (int j = 0; j < p.subs; ++j)
    p.sc[static_cast<size_t>((i * (p.cols / 256) + B) * p.subs + j)] = sc[j];
  if (m == nullptr || p.m.empty()) return;
  p.dmin[static_cast<size_t>(i * (p.cols / 256) + B)] = dmin;
  for (int j = 0; j < 8; ++j) p.m[static_cast<size_t>(i * (p.cols / 32) + 8 * B + j)] = m[j];
}

// WeightLayout::CpuGroups: a Q8_0 / Q4_0 row regrouped when it is loaded, in
// the same bytes as the file's. Group g (blocks 16g .. 16g + n - 1; n = 16
// but in a row's last group) starts at byte 16g * block_bytes and holds the n
// blocks' f16 d, then steps of 4n bytes whose 4-byte lane l is block 16g + l:
//   Q8_0: 8 steps, u = q ^ 0x80 of elements 4k .. 4k + 3 in step k;
//   Q4_0: 4 steps, the file's bytes 4k .. 4k + 3 of each block: elements
//         4k .. 4k + 3 in the low nibbles, 16 + 4k .. in the high ones.
// So the AVX-512 kernels get each block's sum from vpdpbusd, reading the
// weights once with no decoding (QuantActs::qt holds the activations alike).
//
// K-quant rows likewise, lane l of every step being sub-block l of a group:
//   Q4_K, Q5_K: group P holds super-blocks 2P and 2P + 1 (n = 2; n = 1 for an
//     odd last one) at byte 2P * block_bytes, lanes 8h .. 8h + 7 its
//     super-block h's 8 sub-blocks of 32: the n f16 d, the n f16 dmin, 8n
//     bytes (lane l: scale & 15 | (min & 15) << 4), 4n bytes (nibble l: scale
//     >> 4 | (min >> 4) << 2), Q5_K only: 32n bytes whose bit b of lane l's
//     byte j is the fifth bit of element 4b + j (b < 4) or 16 + 4(b - 4) + j,
//     then 4 steps of 32n bytes: lane l's byte j holds the low 4 bits of
//     elements 4k + j and 16 + 4k + j (as Q4_0, so QuantActs::qt fits);
//   Q6_K: group B is super-block B, in the file's 210 bytes: two vectors of 64
//     bytes (vector h, lane l, byte j: the low 4 bits of elements 4h + j and
//     8 + 4h + j of sub-block l of 16), 64 bytes (lane l, byte j, bits 2k, 2k +
//     1: the high 2 bits of element 4k + j), the 16 scales, d.
// Regrouped when the kernels in use are AVX-512's (every level reads it).
bool groups_on_load(DType dt);
void group_rows(const WeightView& file, void* out);
void group_k_rows(const WeightView& file, void* out);  // group_rows of a K-quant
// One K-quant row regrouped with AVX-512 (k_groups_avx512.cpp): the same bytes.
void group_k_row_avx512(DType dt, int64_t cols, const uint8_t* src, uint8_t* dst);
// The file's bytes of regrouped row `row` (row_bytes of them): the inverse.
void ungroup_row(DType dt, int64_t cols, const uint8_t* row, uint8_t* out);
// Rows [0, n) of p (element order, as pack_rows_scalar) from n regrouped rows.
void ungroup_rows(const uint8_t* const* wrow, int64_t n, PackedRows& p);

// Sizes p for `rows` rows of a weight of type dt with `cols` columns.
void prepare_packed(PackedRows& p, DType dt, int64_t rows, int64_t cols);
// Rows [0, n) of p from the n weight rows at wrow (the portable decoder).
void pack_rows_scalar(const uint8_t* const* wrow, int64_t n, PackedRows& p);

// Sizes a for T rows of cols (a multiple of the block) for weights of type wtype.
void prepare_acts(QuantActs& a, DType wtype, int64_t T, int64_t cols);
// n_blocks blocks of B elements of x: q and d as described above; the
// AVX-512 one does the same float operations, so it gives the same values.
void quantize_blocks_scalar(const float* x, int64_t n_blocks, int64_t B, int8_t* q, float* d);
void quantize_blocks_avx512(const float* x, int64_t n_blocks, int64_t B, int8_t* q, float* d);
// A token's Q8_0 / Q4_0 / Q4_K / Q5_K extras from its q (nb blocks of 32):
// bsum, and in `groups` groups qt (q in the grouped order) and iblk (-offset *
// bsum; 0 past the row's blocks): the scalar loops' integers, 16 blocks at a time.
void group_acts_avx512(const int8_t* q, int64_t nb, int64_t groups, int32_t offset, int32_t* bsum,
                       int8_t* qt, int32_t* iblk);
// A token's Q6_K extras from its q (nB super-blocks): qt and isub.
void group_acts16_avx512(const int8_t* q, int64_t nB, int32_t offset, int8_t* qt, int32_t* isub);
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

// The same 8 scales and 8 mins, one byte each (byte j of the result is
// sc[j], resp. m[j]), from the 12 bytes as three little-endian words: a few
// word operations instead of 16 byte by byte (a shift moves bits between
// bytes only where the mask then clears them).
inline void unpack_k_scale_bytes(const uint8_t* s, uint64_t& sc, uint64_t& m) {
  uint32_t u[3];
  std::memcpy(u, s, sizeof u);
  const uint32_t sc_lo = u[0] & 0x3f3f3f3fu, m_lo = u[1] & 0x3f3f3f3fu;
  const uint32_t sc_hi = (u[2] & 0x0f0f0f0fu) | ((u[0] >> 2) & 0x30303030u);
  const uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | ((u[1] >> 2) & 0x30303030u);
  sc = sc_lo | static_cast<uint64_t>(sc_hi) << 32;
  m = m_lo | static_cast<uint64_t>(m_hi) << 32;
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
