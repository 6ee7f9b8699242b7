#include "model/tokenizer/tokenizer.hpp"

#include "base/error.hpp"
#include "format/model_file.hpp"

namespace tplm {

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  std::vector<int32_t> ids;
  if (options.add_bos && adds_bos()) ids.push_back(bos_id());
  for (const SpecialTokens::Fragment& f : special_tokens().split(text, options.parse_special)) {
    if (f.id >= 0)
      ids.push_back(f.id);
    else
      encode_text(f.text, ids);
  }
  return ids;
}

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
