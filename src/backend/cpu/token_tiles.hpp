#pragma once
// The loop over tokens that the AVX-512 float-lane matmuls share (F16:
// kernels_avx512.cpp, BF16: bf16_dot_avx512.cpp): R weight rows against all
// T tokens, 6 at a time (4 x 6 accumulators, 6 token vectors and a weight
// vector fill the 32 registers), then the 1 to 5 left; each output is its
// tile's sum plus the bias. A level's file defines, before including this
// header inside namespace tplm::cpu::<anonymous>:
//   TPLM_TILES_TARGET   its function attribute (target ISA)
// and passes a Tiles object with
//   static constexpr int kRows = R;
//   template <int C> void run(int64_t t0, float* out) const;
//     out[i * C + c] = row i . token t0 + c
#include <cstdint>

template <int C, class Tiles>
TPLM_TILES_TARGET void tokens_tile(const Tiles& tiles, int64_t rows, const float* bias, float* y,
                                   int64_t r, int64_t t0) {
  constexpr int R = Tiles::kRows;
  float out[R * C];
  tiles.template run<C>(t0, out);
  for (int i = 0; i < R; ++i)
    for (int c = 0; c < C; ++c)
      y[(t0 + c) * rows + r + i] = out[i * C + c] + (bias ? bias[r + i] : 0.0f);
}

// y[t, r + i] for every token t and i < R.
template <class Tiles>
TPLM_TILES_TARGET void all_tokens(const Tiles& tiles, int64_t T, int64_t rows, const float* bias,
                                  float* y, int64_t r) {
  int64_t t = 0;
  for (; t + 6 <= T; t += 6) tokens_tile<6>(tiles, rows, bias, y, r, t);
  switch (T - t) {
    case 5:
      return tokens_tile<5>(tiles, rows, bias, y, r, t);
    case 4:
      return tokens_tile<4>(tiles, rows, bias, y, r, t);
    case 3:
      return tokens_tile<3>(tiles, rows, bias, y, r, t);
    case 2:
      return tokens_tile<2>(tiles, rows, bias, y, r, t);
    case 1:
      return tokens_tile<1>(tiles, rows, bias, y, r, t);
    default:
      return;
  }
}
