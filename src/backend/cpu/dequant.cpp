#include "backend/cpu/dequant.hpp"

#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/qdot.hpp"
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
  if (w.layout == WeightLayout::CpuGroups && !is_int_dot_type(w.dtype))
    throw Error(std::string("cpu ") + op + ": only Q8_0, Q4_0 and K-quant weights are " +
                "regrouped, not " + std::string(tr.name));
  if (w.rows > 0 && w.cols > 0 && w.data == nullptr)
    throw Error(std::string("cpu ") + op + ": weight data is null");
}

void dequantize_row(const WeightView& w, int64_t r, float* out) {
  const auto* row = static_cast<const uint8_t*>(w.data) + r * row_bytes(w);
  if (w.layout == WeightLayout::CpuGroups && is_k_quant(w.dtype)) {  // the file's row again
    thread_local std::vector<uint8_t> file;
    file.resize(static_cast<size_t>(row_bytes(w)));
    ungroup_row(w.dtype, w.cols, row, file.data());
    return dequantize(w.dtype, file.data(), w.cols, out);
  }
  if (w.layout == WeightLayout::CpuGroups) {  // d * (u - offset), the file's d * q
    thread_local PackedRows p;
    prepare_packed(p, w.dtype, 1, w.cols);
    ungroup_rows(&row, 1, p);
    const int offset = weight_offset(w.dtype);
    for (int64_t e = 0; e < w.cols; ++e)
      out[e] = p.d[static_cast<size_t>(e / 32)] *
               static_cast<float>(p.u[static_cast<size_t>(e)] - offset);
    return;
  }
  dequantize(w.dtype, row, w.cols, out);
}

}  // namespace tplm::cpu
