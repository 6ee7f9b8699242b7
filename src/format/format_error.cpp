#include "format/format_error.hpp"

#include <fmt/format.h>

namespace tplm {

FormatError::FormatError(const std::string& file, const std::string& what)
    : Error(fmt::format("{}: {}", file, what)) {}

FormatError::FormatError(const std::string& file, uint64_t offset, const std::string& what)
    : Error(fmt::format("{}: at offset {}: {}", file, offset, what)) {}

}  // namespace tplm
