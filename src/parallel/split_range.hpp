#pragma once
// Splitting n items over tp ranks as evenly as possible: the first n % tp
// ranks get one item more. 172 over 8 = 22,22,22,22,21,21,21,21.
#include <algorithm>
#include <cstdint>

#include "base/range.hpp"

namespace tplm {

// Items [begin, end) of rank r.
inline Range split_range(int64_t n, int r, int tp) {
  const int64_t q = n / tp, rem = n % tp;
  const int64_t begin = r * q + std::min<int64_t>(r, rem);
  return {begin, begin + q + (r < rem ? 1 : 0)};
}

// The same split in units of `unit` items (a quantization block): n must be
// a multiple of unit.
inline Range split_range_in_units(int64_t n, int64_t unit, int r, int tp) {
  const Range u = split_range(n / unit, r, tp);
  return {u.begin * unit, u.end * unit};
}

}  // namespace tplm
