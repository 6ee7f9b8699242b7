#pragma once
// The loop over tokens that the float-lane matmuls share (F16:
// kernels_avx512.cpp, BF16: bf16_dot_avx512.cpp and bf16_dot_avx2.cpp): R
// weight rows against all T tokens, C at a time (as many as the level's
// registers hold: AVX-512 4 x 6 accumulators, 6 token vectors and a weight
// vector fill its 32), then one tile of the 1 to C - 1 left; each output is
// its tile's sum plus the bias (a tile's shape never changes an output's
// arithmetic). A level's file defines, before including this header inside
// namespace tplm::cpu::<anonymous>:
//   TPLM_TILES_TARGET   its function attribute (target ISA)
// and passes a Tiles object with
//   static constexpr int kRows = R, kTokens = C;
//   template <int N> void run(int64_t t0, float* out) const;   (N <= C)
//     out[i * N + n] = row i . token t0 + n
#include <cstdint>

template <int N, class Tiles>
TPLM_TILES_TARGET void tokens_tile(const Tiles& tiles, int64_t rows, const float* bias, float* y,
                                   int64_t r, int64_t t0) {
  constexpr int R = Tiles::kRows;
  float out[R * N];
  tiles.template run<N>(t0, out);
  for (int i = 0; i < R; ++i)
    for (int n = 0; n < N; ++n)
      y[(t0 + n) * rows + r + i] = out[i * N + n] + (bias ? bias[r + i] : 0.0f);
}

// The last left tokens (left < N + 1) in one tile of their own.
template <int N, class Tiles>
TPLM_TILES_TARGET void tokens_left(const Tiles& tiles, int64_t left, int64_t rows,
                                   const float* bias, float* y, int64_t r, int64_t t0) {
  if constexpr (N > 0) {
    if (left == N) return tokens_tile<N>(tiles, rows, bias, y, r, t0);
    tokens_left<N - 1>(tiles, left, rows, bias, y, r, t0);
  }
}

// y[t, r + i] for every token t and i < R.
template <class Tiles>
TPLM_TILES_TARGET void all_tokens(const Tiles& tiles, int64_t T, int64_t rows, const float* bias,
                                  float* y, int64_t r) {
  constexpr int C = Tiles::kTokens;
  int64_t t = 0;
  for (; t + C <= T; t += C) tokens_tile<C>(tiles, rows, bias, y, r, t);
  tokens_left<C - 1>(tiles, T - t, rows, bias, y, r, t);
}
