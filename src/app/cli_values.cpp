#include "app/cli_values.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>

#include "base/error.hpp"
#include "parallel/plan.hpp"
#include "runtime/usage_error.hpp"

namespace tplm {

LogitBias parse_logit_bias(const std::string& text) {
  const auto bad = [&] {
    return UsageError(fmt::format(
        "--logit-bias {}: expected TOKEN_ID+BIAS or TOKEN_ID-BIAS (e.g. 15043+1, 15043-0.5; "
        "0-inf bans token 0)",
        text));
  };
  const size_t sign = text.find_first_of("+-");
  if (sign == 0 || sign == std::string::npos) throw bad();
  LogitBias b;
  const char* begin = text.data();
  auto [end, ec] = std::from_chars(begin, begin + sign, b.token);
  if (ec != std::errc() || end != begin + sign) throw bad();
  const std::string value = text.substr(sign + 1);
  if (value == "inf" || value == "infinity") {
    b.bias = std::numeric_limits<float>::infinity();
  } else {
    // from_chars for float: plain decimal or exponent notation, nothing else.
    auto [vend, vec] = std::from_chars(value.data(), value.data() + value.size(), b.bias);
    if (value.empty() || value[0] == '-' || vec != std::errc() ||
        vend != value.data() + value.size())
      throw bad();
  }
  if (text[sign] == '-') b.bias = -b.bias;
  return b;
}

uint64_t seed_from_option(const std::string& text) {
  if (text == "-1") return std::random_device{}();  // 32 bits, as llama.cpp's: --seed takes it back
  uint64_t seed = 0;
  const char* end = text.data() + text.size();
  auto [at, ec] = std::from_chars(text.data(), end, seed);
  if (text.empty() || ec != std::errc() || at != end)
    throw UsageError(fmt::format(
        "--seed {} is out of range; use a whole number from 0 to 2^64 - 1, or -1 for a random seed",
        text));
  return seed;
}

int parse_tp_option(const std::string& text) {
  if (text == "auto") return kTpAuto;
  int tp = 0;
  const char* end = text.data() + text.size();
  auto [at, ec] = std::from_chars(text.data(), end, tp);
  if (text.empty() || ec != std::errc() || at != end || tp < 1 || tp > kMaxTp)
    throw UsageError(fmt::format(
        "--tp {} is out of range; use 1 to {}, or auto for the fastest predicted tp that fits",
        text, kMaxTp));
  return tp;
}

std::string read_prompt_file(const std::string& path) {
  const bool from_stdin = path == "-";
  FILE* f = from_stdin ? stdin : std::fopen(path.c_str(), "rb");
  if (!f)
    throw Error(fmt::format("cannot read the prompt file {}: {}", path, std::strerror(errno)));
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  if (!from_stdin) std::fclose(f);
  if (failed)
    throw Error(fmt::format("cannot read the prompt {}: {}",
                            from_stdin ? std::string("from stdin") : "file " + path,
                            std::strerror(err)));
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace tplm
