#include "app/stdin_lines.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.hpp"

namespace tplm {

std::optional<std::string> StdinLines::next(double idle_seconds,
                                            const std::function<void()>& idle) {
  while (true) {
    if (size_t nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (eof_) {
      if (buffer_.empty()) return std::nullopt;
      std::string line;
      line.swap(buffer_);
      return line;
    }
    pollfd p{STDIN_FILENO, POLLIN, 0};
    const int wait_ms = idle_seconds > 0 ? static_cast<int>(idle_seconds * 1000) : -1;
    const int ready = poll(&p, 1, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw Error(std::string("cannot wait for input on stdin: ") + std::strerror(errno));
    }
    if (ready == 0) {
      if (idle) idle();
      continue;
    }
    char chunk[4096];
    const ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw Error(std::string("cannot read stdin: ") + std::strerror(errno));
    }
    if (n == 0)
      eof_ = true;
    else
      buffer_.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace tplm
