#include "runtime/stop_strings.hpp"

#include <algorithm>

#include "base/error.hpp"

namespace tplm {

StopStrings::StopStrings(std::vector<std::string> stops) : stops_(std::move(stops)) {
  for (const std::string& s : stops_)
    if (s.empty()) throw Error("a stop string is empty");
}

std::string StopStrings::push(std::string_view text) {
  if (stopped_) return {};
  pending_ += text;
  // The earliest stop string in the text (the longest one where two start together).
  size_t at = std::string::npos;
  for (const std::string& s : stops_) {
    const size_t p = pending_.find(s);
    if (p == std::string::npos) continue;
    if (p < at || (p == at && s.size() > matched_.size())) {
      at = p;
      matched_ = s;
    }
  }
  if (at != std::string::npos) {
    stopped_ = true;
    std::string ready = pending_.substr(0, at);
    pending_.clear();
    return ready;
  }
  // Hold back the longest tail that a stop string begins with.
  size_t keep = 0;
  for (const std::string& s : stops_)
    for (size_t n = std::min(s.size() - 1, pending_.size()); n > keep; --n)
      if (pending_.compare(pending_.size() - n, n, s, 0, n) == 0) {
        keep = n;
        break;
      }
  std::string ready = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return ready;
}

std::string StopStrings::flush() {
  std::string rest;
  rest.swap(pending_);
  return rest;
}

}  // namespace tplm
