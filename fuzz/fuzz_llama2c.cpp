// libFuzzer target for the llama2.c checkpoint reader: any input must end in a
// parsed model or a tplm::Error. A crash, a sanitizer report or any other
// exception is a bug.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "format/error.hpp"
#include "format/model_file.hpp"

namespace {

// One in-memory file per process, rewritten for every input.
int memfd() {
  static const int fd = [] {
    int f = ::memfd_create("fuzz_llama2c", 0);
    if (f < 0) std::abort();
    return f;
  }();
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd();
  if (::ftruncate(fd, 0) != 0) std::abort();
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  try {
    tplm::ModelFile m = tplm::read_llama2c("/proc/self/fd/" + std::to_string(fd));
    volatile uint64_t sink = m.total_weight_bytes() + m.tensors.size();
    (void)sink;
  } catch (const tplm::Error&) {
  }
  return 0;
}
