// K-quant rows regrouped on load (WeightLayout::CpuGroups; the layout is in
// qdot.hpp) and back: each super-block is taken apart into its values,
// scales, mins and raw f16 d / dmin (KValues), which one function writes in
// the file's layout and another in the grouped one, and the inverse of each
// reads them back, so that a row regrouped then ungrouped is the file's row.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "backend/cpu/cpu_features.hpp"
#include "backend/cpu/dequant.hpp"
#include "backend/cpu/qdot.hpp"
#include "format/half.hpp"

namespace tplm::cpu {
namespace {

// One super-block taken apart.
struct KValues {
  uint8_t u[256];  // unsigned values: Q4_K 4 bits, Q5_K 5, Q6_K 6
  int32_t sc[16];  // sub-block scales (Q4_K, Q5_K: 6 bits, 8 of them; Q6_K: int8, 16)
  int32_t m[8];    // Q4_K, Q5_K: sub-block mins (6 bits)
  uint16_t d, dmin;
};

int64_t k_bytes(DType dt) {
  return dtype_traits(dt).block_bytes;
}

// ---------------------------------------------------------------- the file's layout

// The inverse of unpack_k_scales (qdot.hpp).
void pack_k_scales_bytes(const int32_t* sc, const int32_t* m, uint8_t* s) {
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
  }
}

void from_file(DType dt, const uint8_t* blk, KValues& v) {
  if (dt == DType::Q6_K) {
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, j = (e % 128) / 32, i = e % 32;
      const int lo = (blk[64 * h + 32 * (j % 2) + i] >> (4 * (j / 2))) & 15;
      const int hi = (blk[128 + 32 * h + i] >> (2 * j)) & 3;
      v.u[e] = static_cast<uint8_t>(lo | hi << 4);
    }
    for (int g = 0; g < 16; ++g) v.sc[g] = static_cast<int8_t>(blk[192 + g]);
    v.d = load_u16(blk + 208);
    v.dmin = 0;
    return;
  }
  v.d = load_u16(blk);
  v.dmin = load_u16(blk + 2);
  unpack_k_scales(blk + 4, v.sc, v.m);
  const bool five = dt == DType::Q5_K;
  const uint8_t* qs = blk + (five ? 48 : 16);
  for (int e = 0; e < 256; ++e) {
    const int j = e / 64, s = (e / 32) % 2, i = e % 32;
    int q = (qs[32 * j + i] >> (4 * s)) & 15;
    if (five) q |= ((blk[16 + i] >> (e / 32)) & 1) << 4;
    v.u[e] = static_cast<uint8_t>(q);
  }
}

void store_u16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, sizeof v);
}

void to_file(DType dt, const KValues& v, uint8_t* blk) {
  std::fill(blk, blk + k_bytes(dt), uint8_t{0});
  if (dt == DType::Q6_K) {
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, j = (e % 128) / 32, i = e % 32;
      blk[64 * h + 32 * (j % 2) + i] |= static_cast<uint8_t>((v.u[e] & 15) << (4 * (j / 2)));
      blk[128 + 32 * h + i] |= static_cast<uint8_t>((v.u[e] >> 4) << (2 * j));
    }
    for (int g = 0; g < 16; ++g) blk[192 + g] = static_cast<uint8_t>(v.sc[g]);
    store_u16(blk + 208, v.d);
    return;
  }
  store_u16(blk, v.d);
  store_u16(blk + 2, v.dmin);
  pack_k_scales_bytes(v.sc, v.m, blk + 4);
  const bool five = dt == DType::Q5_K;
  uint8_t* qs = blk + (five ? 48 : 16);
  for (int e = 0; e < 256; ++e) {
    const int j = e / 64, s = (e / 32) % 2, i = e % 32;
    qs[32 * j + i] |= static_cast<uint8_t>((v.u[e] & 15) << (4 * s));
    if (five) blk[16 + i] |= static_cast<uint8_t>((v.u[e] >> 4) << (e / 32));
  }
}

// ---------------------------------------------------------------- the grouped layout

// Where element e (0 .. 31) of a Q4_K / Q5_K sub-block lies in its lane's 4
// bytes of a step: step k = (e % 16) / 4, byte j = e % 4, high nibble = e >= 16.
struct Spot {
  int k, j, high;
};
Spot spot32(int e) {
  return {(e % 16) / 4, e % 4, e >= 16 ? 1 : 0};
}

// The bytes of a group: read (kIn: grouped -> KValues) or written.
template <bool kIn>
using GroupBytes = std::conditional_t<kIn, const uint8_t, uint8_t>;

// Q4_K / Q5_K: the n super-blocks of a group (n = 1 or 2).
template <bool kIn>
void group32(DType dt, KValues* v, int n, GroupBytes<kIn>* g) {
  const int N = 8 * n;  // lanes
  GroupBytes<kIn>* lo_bytes = g + 4 * n;
  GroupBytes<kIn>* hi_nibbles = g + 12 * n;
  const bool five = dt == DType::Q5_K;
  GroupBytes<kIn>* qh = g + 16 * n;
  GroupBytes<kIn>* qs = g + (five ? 48 : 16) * n;
  if constexpr (!kIn) std::fill(g, g + n * k_bytes(dt), uint8_t{0});
  for (int h = 0; h < n; ++h) {
    KValues& b = v[h];
    if constexpr (kIn) {
      b.d = load_u16(g + 2 * h);
      b.dmin = load_u16(g + 2 * n + 2 * h);
    } else {
      store_u16(g + 2 * h, b.d);
      store_u16(g + 2 * n + 2 * h, b.dmin);
    }
    for (int s = 0; s < 8; ++s) {
      const int l = 8 * h + s;
      if constexpr (kIn) {
        const int nib = (hi_nibbles[l / 2] >> (4 * (l % 2))) & 15;
        b.sc[s] = (lo_bytes[l] & 15) | (nib & 3) << 4;
        b.m[s] = (lo_bytes[l] >> 4) | (nib >> 2) << 4;
      } else {
        lo_bytes[l] = static_cast<uint8_t>((b.sc[s] & 15) | (b.m[s] & 15) << 4);
        hi_nibbles[l / 2] |=
            static_cast<uint8_t>(((b.sc[s] >> 4) | (b.m[s] >> 4) << 2) << (4 * (l % 2)));
      }
      for (int e = 0; e < 32; ++e) {
        const Spot p = spot32(e);
        auto& q = qs[4 * N * p.k + 4 * l + p.j];
        auto& bit = qh[4 * l + p.j];
        const int b5 = 4 * p.high + p.k;  // the fifth bit's place in its byte
        uint8_t& u = b.u[32 * s + e];
        if constexpr (kIn) {
          u = static_cast<uint8_t>((q >> (4 * p.high)) & 15);
          if (five) u = static_cast<uint8_t>(u | ((bit >> b5) & 1) << 4);
        } else {
          q |= static_cast<uint8_t>((u & 15) << (4 * p.high));
          if (five) bit |= static_cast<uint8_t>((u >> 4) << b5);
        }
      }
    }
  }
}

// Q6_K: one super-block.
template <bool kIn>
void group16(KValues& v, GroupBytes<kIn>* g) {
  if constexpr (!kIn) std::fill(g, g + 210, uint8_t{0});
  for (int l = 0; l < 16; ++l)
    for (int e = 0; e < 16; ++e) {
      const int k = e / 4, j = e % 4;  // step, byte
      auto& q = g[64 * (k % 2) + 4 * l + j];
      auto& h = g[128 + 4 * l + j];
      uint8_t& u = v.u[16 * l + e];
      if constexpr (kIn) {
        u = static_cast<uint8_t>(((q >> (4 * (k / 2))) & 15) | ((h >> (2 * k)) & 3) << 4);
      } else {
        q |= static_cast<uint8_t>((u & 15) << (4 * (k / 2)));
        h |= static_cast<uint8_t>((u >> 4) << (2 * k));
      }
    }
  for (int l = 0; l < 16; ++l) {
    if constexpr (kIn)
      v.sc[l] = static_cast<int8_t>(g[192 + l]);
    else
      g[192 + l] = static_cast<uint8_t>(v.sc[l]);
  }
  if constexpr (kIn)
    v.d = load_u16(g + 208);
  else
    store_u16(g + 208, v.d);
}

// A row's groups, from the file's bytes (to_groups) or back.
void convert_row(DType dt, int64_t cols, const uint8_t* src, uint8_t* dst, bool to_groups) {
  const int64_t nB = cols / 256, bb = k_bytes(dt);
  const int per = dt == DType::Q6_K ? 1 : 2;  // super-blocks per group
  for (int64_t B = 0; B < nB; B += per) {
    const int n = static_cast<int>(std::min<int64_t>(per, nB - B));
    KValues v[2];
    uint8_t* out = dst + B * bb;
    const uint8_t* at = src + B * bb;
    if (to_groups) {
      for (int h = 0; h < n; ++h) from_file(dt, at + h * bb, v[h]);
      if (dt == DType::Q6_K)
        group16<false>(v[0], out);
      else
        group32<false>(dt, v, n, out);
    } else {
      if (dt == DType::Q6_K)
        group16<true>(v[0], at);
      else
        group32<true>(dt, v, n, at);
      for (int h = 0; h < n; ++h) to_file(dt, v[h], out + h * bb);
    }
  }
}

}  // namespace

void group_k_rows(const WeightView& file, void* out) {
  const int64_t rb = row_bytes(file);
  for (int64_t r = 0; r < file.rows; ++r) {
    const uint8_t* src = static_cast<const uint8_t*>(file.data) + r * rb;
    uint8_t* dst = static_cast<uint8_t*>(out) + r * rb;
#if defined(__x86_64__)
    if (cpu_level() == CpuLevel::Avx512) {  // the same bytes, ~50x faster (load time)
      group_k_row_avx512(file.dtype, file.cols, src, dst);
      continue;
    }
#endif
    convert_row(file.dtype, file.cols, src, dst, true);
  }
}

void ungroup_row(DType dt, int64_t cols, const uint8_t* row, uint8_t* out) {
  convert_row(dt, cols, row, out, false);
}

}  // namespace tplm::cpu
