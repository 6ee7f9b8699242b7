#pragma once
// A half-open range [begin, end) of rows, columns, heads or vocabulary ids.
#include <cstdint>

namespace tplm {

struct Range {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
  bool operator==(const Range&) const = default;
};

}  // namespace tplm
