#include "model/tokenizer/tokenizer.hpp"

#include "base/error.hpp"
#include "format/model_file.hpp"

namespace tplm {

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  int32_t prev = -1;
  for (int32_t id : ids) {
    out += decode_piece(prev, id);
    prev = id;
  }
  return out;
}

}  // namespace tplm
