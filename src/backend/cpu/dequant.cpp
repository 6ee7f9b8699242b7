#include "backend/cpu/dequant.hpp"

#include <cstring>
#include <string>

#include "base/error.hpp"
#include "format/dtype_convert.hpp"

namespace tplm::cpu {

int64_t row_bytes(const WeightView& w) {
  return static_cast<int64_t>(dtype_bytes(w.dtype, w.cols));
}

void check_weight(const WeightView& w, const char* op) {
  const auto& tr = dtype_traits(w.dtype);
  if (w.rows < 0 || w.cols < 0)
    throw Error(std::string("cpu ") + op + ": negative weight shape [" + std::to_string(w.rows) +
                ", " + std::to_string(w.cols) + "]");
  if (w.cols % tr.block_elems != 0)
    throw Error(std::string("cpu ") + op + ": a " + std::string(tr.name) + " weight needs cols " +
                "divisible by " + std::to_string(tr.block_elems) + ", got cols = " +
                std::to_string(w.cols) + " (choose a tp that keeps whole quantization blocks)");
  if (w.rows > 0 && w.cols > 0 && w.data == nullptr)
    throw Error(std::string("cpu ") + op + ": weight data is null");
}

void dequantize_row(const WeightView& w, int64_t r, float* out) {
  dequantize(w.dtype, static_cast<const uint8_t*>(w.data) + r * row_bytes(w), w.cols, out);
}

}  // namespace tplm::cpu
