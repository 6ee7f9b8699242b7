#pragma once
// Lines typed on stdin, read without blocking the caller forever: while no
// line is there, idle() is called every idle_seconds (tplm chat keeps the
// other ranks of a split from timing out while its user thinks).
#include <functional>
#include <optional>
#include <string>

namespace tplm {

class StdinLines {
 public:
  // The next line without its "\n" (and "\r"), or nullopt at the end of input
  // (Ctrl-D, the end of a pipe). A last line without "\n" is still a line.
  // idle_seconds <= 0: wait without calling idle.
  std::optional<std::string> next(double idle_seconds, const std::function<void()>& idle);

 private:
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace tplm
