#pragma once
// Splitting n items over tp ranks as evenly as possible: the first n % tp
// ranks get one item more. 172 over 8 = 22,22,22,22,21,21,21,21.
// Or in proportion to weights (--split 3,1): rank r's quota is n * w_r / sum(w);
// each rank gets the whole part of its quota and the items left over go to the
// largest fractional parts (ties: the lower rank), so equal weights give the
// even split above. 4 over 3,1 = 3,1; 10 over 1,1,1 = 4,3,3.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

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

// Items of every rank in proportion to weights (all > 0); empty weights: even.
inline std::vector<int64_t> weighted_counts(int64_t n, std::span<const double> weights) {
  const size_t tp = weights.size();
  std::vector<int64_t> count(tp, 0);
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<double> frac(tp);
  int64_t given = 0;
  for (size_t r = 0; r < tp; ++r) {
    const double quota = static_cast<double>(n) * weights[r] / total;
    count[r] = std::min<int64_t>(n, static_cast<int64_t>(std::floor(quota)));
    frac[r] = quota - static_cast<double>(count[r]);
    given += count[r];
  }
  std::vector<size_t> order(tp);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return frac[a] > frac[b]; });
  for (size_t i = 0; given < n && i < tp; ++i, ++given) ++count[order[i]];
  return count;
}

// Rank r's items [begin, end) in units of `unit` (n a multiple of unit), in
// proportion to weights (one per rank; empty: the even split_range_in_units).
inline Range split_weighted(int64_t n, int64_t unit, int r, int tp,
                            std::span<const double> weights) {
  if (weights.empty()) return split_range_in_units(n, unit, r, tp);
  const std::vector<int64_t> c = weighted_counts(n / unit, weights);
  const int64_t begin = std::accumulate(c.begin(), c.begin() + r, int64_t{0});
  return {begin * unit, (begin + c[static_cast<size_t>(r)]) * unit};
}

}  // namespace tplm
