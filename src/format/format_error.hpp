#pragma once
// The error of a file that cannot be read.
#include <cstdint>
#include <string>

#include "base/error.hpp"

namespace tplm {

// A model or tokenizer file that cannot be read: names the file, the byte
// offset where reading went wrong (when there is one) and what was wrong.
class FormatError : public Error {
 public:
  FormatError(const std::string& file, const std::string& what);
  FormatError(const std::string& file, uint64_t offset, const std::string& what);
};

}  // namespace tplm
