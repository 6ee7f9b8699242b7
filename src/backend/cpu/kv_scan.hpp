#pragma once
// The attention kernels' loop over a head's cached rows, shared by the SIMD
// levels (the matmuls' equivalent is qdot_driver.hpp). A level's file
// defines, before including this header inside namespace tplm::cpu::<anonymous>:
//   TPLM_KV_TARGET                       its function attribute (target ISA)
//   row_dots<dt, R>(rows, x, len, out)   out[r] = rows[r] . x, R = 1 or 4, one
//                                        accumulator per row (so any R gives a row's bits)
#include <cstdint>

#include "backend/cpu/kernels.hpp"

// out[p] = row p . x for rows stride bytes apart, 4 at a time (the caller
// has fetched the rows: attention.cpp's chunks).
template <DType dt>
TPLM_KV_TARGET void dots_rows(const uint8_t* rows, int64_t stride, const float* x, int64_t n,
                              float* out, int64_t len) {
  constexpr int R = 4;
  int64_t p = 0;
  for (; p + R <= n; p += R) {
    const void* wrow[R] = {rows + p * stride, rows + (p + 1) * stride, rows + (p + 2) * stride,
                           rows + (p + 3) * stride};
    row_dots<dt, R>(wrow, x, len, out + p);
  }
  for (; p < n; ++p) {
    const void* wrow[1] = {rows + p * stride};
    row_dots<dt, 1>(wrow, x, len, out + p);
  }
}
