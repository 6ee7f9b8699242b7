#pragma once
// The loops shared by the integer kernels of every SIMD level: tiles of R rows
// x C tokens over a matmul, tokens in chunks whose activations stay in the L2
// cache, and the switch over the weight types. A level's file defines, before
// including this header inside namespace tplm::cpu::<anonymous>:
//   TPLM_QDOT_TARGET                  its function attribute (target ISA)
//   tile<dt, R, C>(wrow, a, t0, out)  out[r * C + c] = row r . token t0 + c
//   kTileRows, kTileTokensQ32, kTileTokensK   its tile shapes
//   pack_rows<dt>(wrow, n, p)         n rows unpacked into p (PackedRows, qdot.hpp)
//   ptile<dt, R, C>(p, i, a, t0, out) out[r * C + c] = packed row i + r . token t0 + c
//   kPackRows, kPackTokensQ32, kPackTokensK, kPackTokensQ6K, kPackMinTokens   packed shapes
//   kPacksRows<dt>                    whether a batch unpacks rows of type dt (else tile())
// Every output's arithmetic is inside tile() and ptile(), the same for every
// R and C and the same in both: the tiling only decides how often each weight
// block is loaded and decoded.
//
// Decode (T below kPackMinTokens) streams the weights through tile(): R rows x
// C tokens per load. A batch of rows (batched decode, prefill) unpacks R rows
// once per token chunk and runs ptile() over all the chunk's tokens, C at a
// time and the last tile with the tokens left, so each weight block is
// decoded once per chunk instead of once per C tokens.
#include <algorithm>
#include <cstdint>

#include "backend/cpu/dequant.hpp"
#include "backend/cpu/qdot.hpp"

// y[(t + c) * stride + r + i] = out[i * C + c] + bias[r + i], for C tokens of R rows.
template <int R, int C>
inline void store_tile(const float* out, const float* bias, float* y, int64_t stride, int64_t r,
                       int64_t t) {
  for (int i = 0; i < R; ++i)
    for (int c = 0; c < C; ++c)
      y[(t + c) * stride + r + i] = out[i * C + c] + (bias ? bias[r + i] : 0.0f);
}

// The level's tile() over the weight's bytes as the file has them.
template <DType dt>
struct FileTiles {
  template <int R, int C>
  TPLM_QDOT_TARGET static void run(const uint8_t* const* wrow, const QuantActs& a, int64_t t,
                                   float* out) {
    tile<dt, R, C>(wrow, a, t, out);
  }
  template <int R, int C>
  static void store(const float* out, const float* bias, float* y, int64_t stride, int64_t r,
                    int64_t t) {
    store_tile<R, C>(out, bias, y, stride, r, t);
  }
};

// Rows [r, r + R) x tokens [t0, t1), C tokens at a time, then one at a time;
// Tiles::run<R, C>(wrow, a, t, out) computes one tile, Tiles::store<R, C> puts
// it into y (store_tile's arguments).
template <class Tiles, int R, int C>
TPLM_QDOT_TARGET void rows_tokens(const WeightView& w, const QuantActs& a, const float* bias,
                                  float* y, int64_t r, int64_t t0, int64_t t1) {
  const int64_t rb = row_bytes(w);
  const uint8_t* wrow[R];
  for (int i = 0; i < R; ++i) wrow[i] = static_cast<const uint8_t*>(w.data) + (r + i) * rb;
  float out[R * C];
  // Several tiles of tokens: while they run over these rows (from the caches
  // after the first), fetch the next R rows' bytes, a share before each tile,
  // so that the next rows do not wait on memory.
  const int64_t tiles = (t1 - t0) / C;
  const uint8_t* next = wrow[0] + R * rb;
  const int64_t next_bytes = tiles > 1 ? std::min<int64_t>(R, w.rows - r - R) * rb : 0;
  int64_t fetched = 0;
  int64_t t = t0;
  for (int64_t i = 1; t + C <= t1; t += C, ++i) {
    for (const int64_t end = next_bytes * i / tiles; fetched < end; fetched += 64)
      __builtin_prefetch(next + fetched);
    Tiles::template run<R, C>(wrow, a, t, out);
    Tiles::template store<R, C>(out, bias, y, w.rows, r, t);
  }
  for (; t < t1; ++t) {
    Tiles::template run<R, 1>(wrow, a, t, out);
    Tiles::template store<R, 1>(out, bias, y, w.rows, r, t);
  }
}

// One token (decode): rows [r0, r1) one at a time, in a loop of their own (a
// row of a 2048-column Q4_0 weight is 18 cache lines, so per-row set-up
// through rows_tokens was a large share of its time); y[r] as store_tile.
template <class Tiles>
TPLM_QDOT_TARGET void decode_rows(const WeightView& w, const QuantActs& a, const float* bias,
                                  float* y, int64_t r0, int64_t r1) {
  const int64_t rb = row_bytes(w);
  const uint8_t* row = static_cast<const uint8_t*>(w.data) + r0 * rb;
  for (int64_t r = r0; r < r1; ++r, row += rb) {
    float out;
    Tiles::template run<1, 1>(&row, a, 0, &out);
    y[r] = out + (bias ? bias[r] : 0.0f);
  }
}

// The last n < C + 1 tokens from t: one tile of exactly n tokens.
template <DType dt, int R, int C>
TPLM_QDOT_TARGET void packed_tail(const PackedRows& p, int64_t i, const QuantActs& a,
                                  const float* bias, float* y, int64_t stride, int64_t r, int64_t t,
                                  int64_t n) {
  if constexpr (C >= 1) {
    if (n == C) {
      float out[R * C];
      ptile<dt, R, C>(p, i, a, t, out);
      return store_tile<R, C>(out, bias, y, stride, r, t);
    }
    packed_tail<dt, R, C - 1>(p, i, a, bias, y, stride, r, t, n);
  }
}

// Packed rows [i, i + R) (weight rows [r, r + R)) x tokens [t0, t1).
template <DType dt, int R, int C>
TPLM_QDOT_TARGET void packed_tokens(const PackedRows& p, int64_t i, const QuantActs& a,
                                    const float* bias, float* y, int64_t stride, int64_t r,
                                    int64_t t0, int64_t t1) {
  float out[R * C];
  int64_t t = t0;
  for (; t + C <= t1; t += C) {
    ptile<dt, R, C>(p, i, a, t, out);
    store_tile<R, C>(out, bias, y, stride, r, t);
  }
  if (t < t1) packed_tail<dt, R, C - 1>(p, i, a, bias, y, stride, r, t, t1 - t);
}

// Rows [r0, r1) x tokens [t0, t1): kPackRows rows unpacked at a time.
template <DType dt>
__attribute__((noinline)) TPLM_QDOT_TARGET void rows_packed(const QuantActs& a, const WeightView& w,
                                                            const float* bias, float* y, int64_t r0,
                                                            int64_t r1, int64_t t0, int64_t t1) {
  constexpr int R = kPackRows;
  constexpr int C = dt == DType::Q8_0 || dt == DType::Q4_0 ? kPackTokensQ32
                    : dt == DType::Q6_K                    ? kPackTokensQ6K
                                                           : kPackTokensK;
  thread_local PackedRows p;
  prepare_packed(p, dt, R, w.cols);
  const int64_t rb = row_bytes(w);
  for (int64_t r = r0; r < r1; r += R) {
    const int64_t n = std::min<int64_t>(R, r1 - r);
    const uint8_t* wrow[R];
    for (int64_t i = 0; i < n; ++i) wrow[i] = static_cast<const uint8_t*>(w.data) + (r + i) * rb;
    if (w.layout == WeightLayout::CpuGroups)  // a level that reads them in element order
      ungroup_rows(wrow, n, p);
    else
      pack_rows<dt>(wrow, n, p);
    // Fetch the next rows' bytes while this tile runs over the tokens, so that
    // the next pack does not wait on memory (a prefetch never faults).
    const uint8_t* next = static_cast<const uint8_t*>(w.data) + (r + n) * rb;
    const int64_t next_bytes = std::min<int64_t>(R, r1 - r - n) * rb;
    for (int64_t off = 0; off < next_bytes; off += 64) __builtin_prefetch(next + off);
    if (n == R) {
      packed_tokens<dt, R, C>(p, 0, a, bias, y, w.rows, r, t0, t1);
    } else {
      for (int64_t i = 0; i < n; ++i)
        packed_tokens<dt, 1, C>(p, i, a, bias, y, w.rows, r + i, t0, t1);
    }
  }
}

template <DType dt>
TPLM_QDOT_TARGET void rows_any(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                               int64_t r0, int64_t r1) {
  constexpr int R = kTileRows;
  constexpr int C = dt == DType::Q8_0 || dt == DType::Q4_0 ? kTileTokensQ32 : kTileTokensK;
  if (a.T == 1 && w.layout != WeightLayout::CpuGroups)
    return decode_rows<FileTiles<dt>>(w, a, bias, y, r0, r1);
  const int64_t chunk = std::max<int64_t>(C, (256 * 1024 / std::max<int64_t>(a.cols, 1)) / C * C);
  for (int64_t t0 = 0; t0 < a.T; t0 += chunk) {
    const int64_t t1 = std::min(a.T, t0 + chunk);
    if constexpr (kPacksRows<dt>) {
      if (t1 - t0 >= kPackMinTokens || w.layout == WeightLayout::CpuGroups) {
        rows_packed<dt>(a, w, bias, y, r0, r1, t0, t1);
        continue;
      }
    }
    int64_t r = r0;
    // One token (decode) streams one row at a time: from memory, R rows at
    // once measured slower (32768 x 2048, 2 threads, AVX2: Q8_0 14 vs 41 GB/s).
    if (t1 - t0 > 1)
      for (; r + R <= r1; r += R) rows_tokens<FileTiles<dt>, R, C>(w, a, bias, y, r, t0, t1);
    for (; r < r1; ++r) rows_tokens<FileTiles<dt>, 1, C>(w, a, bias, y, r, t0, t1);
  }
}

inline void qmatmul_rows_level(const QuantActs& a, const WeightView& w, const float* bias, float* y,
                               int64_t r0, int64_t r1) {
  switch (w.dtype) {
    case DType::Q8_0:
      return rows_any<DType::Q8_0>(a, w, bias, y, r0, r1);
    case DType::Q4_0:
      return rows_any<DType::Q4_0>(a, w, bias, y, r0, r1);
    case DType::Q4_K:
      return rows_any<DType::Q4_K>(a, w, bias, y, r0, r1);
    case DType::Q5_K:
      return rows_any<DType::Q5_K>(a, w, bias, y, r0, r1);
    case DType::Q6_K:
      return rows_any<DType::Q6_K>(a, w, bias, y, r0, r1);
    default:
      return qmatmul_rows_scalar(a, w, bias, y, r0, r1);
  }
}
