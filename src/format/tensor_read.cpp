#include "format/tensor_read.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "format/format_error.hpp"

namespace tplm {

TensorReader::~TensorReader() {
  for (auto& [path, fd] : fds_) ::close(fd);
}

int TensorReader::fd_for(const std::string& path) {
  auto it = fds_.find(path);
  if (it != fds_.end()) return it->second;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw FormatError(path, fmt::format("cannot open: {}", std::strerror(errno)));
  fds_[path] = fd;
  return fd;
}

uint64_t TensorReader::block_bytes(const TensorInfo& t, Range rows, Range cols) {
  return static_cast<uint64_t>(rows.size()) * dtype_bytes(t.dtype, cols.size());
}

void TensorReader::read_block(const TensorInfo& t, Range rows, Range cols, void* dst) {
  const int64_t block = dtype_traits(t.dtype).block_elems;
  if (rows.begin < 0 || rows.end > t.rows() || rows.begin > rows.end || cols.begin < 0 ||
      cols.end > t.cols() || cols.begin > cols.end || cols.begin % block || cols.end % block)
    throw FormatError(
        t.path, fmt::format("tensor {}: block rows [{}, {}) x cols [{}, {}) is "
                            "outside its shape or not aligned to blocks of {}",
                            t.source_name, rows.begin, rows.end, cols.begin, cols.end, block));
  const int fd = fd_for(t.path);
  const uint64_t row_bytes = dtype_bytes(t.dtype, t.cols());
  const uint64_t col_off = dtype_bytes(t.dtype, cols.begin);
  const uint64_t want = dtype_bytes(t.dtype, cols.size());
  auto* out = static_cast<uint8_t*>(dst);
  auto pread_all = [&](uint64_t off, uint64_t n) {
    uint64_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd, out + done, n - done, static_cast<off_t>(off + done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0)
        throw FormatError(t.path, off + done,
                          fmt::format("short read of tensor {}: the file is truncated or "
                                      "unreadable ({})",
                                      t.source_name, r < 0 ? std::strerror(errno) : "end of file"));
      done += static_cast<uint64_t>(r);
    }
    out += n;
    bytes_read_ += n;
  };
  if (want == row_bytes) {
    pread_all(t.offset + static_cast<uint64_t>(rows.begin) * row_bytes,
              static_cast<uint64_t>(rows.size()) * row_bytes);
    return;
  }
  for (int64_t r = rows.begin; r < rows.end; ++r)
    pread_all(t.offset + static_cast<uint64_t>(r) * row_bytes + col_off, want);
}

}  // namespace tplm
