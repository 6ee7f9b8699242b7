#pragma once
// Errors that reach the user. Every one names the problem and, where there is
// one, the fix; the command line prints what() and exits non-zero.
#include <cstdint>
#include <stdexcept>
#include <string>

namespace tplm {

// Base of every error tplm reports to a user (bad file, bad tp, bad request...).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A model or tokenizer file that cannot be read: names the file, the byte
// offset where reading went wrong (when there is one) and what was wrong.
class FormatError : public Error {
 public:
  FormatError(const std::string& file, const std::string& what);
  FormatError(const std::string& file, uint64_t offset, const std::string& what);
};

}  // namespace tplm
