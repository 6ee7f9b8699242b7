#pragma once
// What the file-reader fuzz targets share: each input becomes the contents of
// one in-memory file (a memfd, rewritten for every input) that the reader
// opens by its /proc/self/fd path. Any input must end in a parsed model or a
// tplm::Error; a crash, a sanitizer report or any other exception is a bug.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/error.hpp"
#include "format/model_file.hpp"

namespace tplm::fuzz {

inline int memfd() {
  static const int fd = [] {
    int f = ::memfd_create("tplm_fuzz", 0);
    if (f < 0) std::abort();
    return f;
  }();
  return fd;
}

// Writes data to the memfd and returns its path.
inline std::string as_file(const uint8_t* data, size_t size) {
  const int fd = memfd();
  if (::ftruncate(fd, 0) != 0) std::abort();
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  return "/proc/self/fd/" + std::to_string(fd);
}

// Reads the input with `reader` and touches what a caller would use, so the
// sanitizers see it.
template <typename Reader>
int read_input(const uint8_t* data, size_t size, Reader reader) {
  try {
    ModelFile m = reader(as_file(data, size));
    volatile uint64_t sink = m.total_weight_bytes() + m.tensors.size() + m.metadata.size();
    (void)sink;
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace tplm::fuzz
