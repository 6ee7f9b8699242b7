#include "format/tensor_info.hpp"

namespace tplm {

int64_t TensorInfo::rows() const {
  int64_t r = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) r *= shape[i];
  return r;
}

int64_t TensorInfo::cols() const {
  return shape.empty() ? 1 : shape.back();
}

int64_t TensorInfo::elements() const {
  return rows() * cols();
}

}  // namespace tplm
