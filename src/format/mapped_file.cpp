#include "format/mapped_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace tplm {

MappedFile::MappedFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw FormatError(path, fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw FormatError(path, "not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      throw FormatError(path, fmt::format("cannot map: {}", std::strerror(err)));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void Cursor::seek(uint64_t pos) {
  if (pos > size_)
    throw FormatError(file_, pos, fmt::format("offset is past the end of the {}-byte file", size_));
  pos_ = pos;
}

void Cursor::need(uint64_t n, const char* what) const {
  if (n > size_ - pos_)
    throw FormatError(
        file_, pos_,
        fmt::format("truncated file: {} needs {} bytes but only {} remain", what, n, size_ - pos_));
}

std::string_view Cursor::bytes(uint64_t n, const char* what) {
  need(n, what);
  std::string_view v(reinterpret_cast<const char*>(data_ + pos_), n);
  pos_ += n;
  return v;
}

void Cursor::skip(uint64_t n, const char* what) {
  need(n, what);
  pos_ += n;
}

void Cursor::fail(const std::string& what) const {
  throw FormatError(file_, pos_, what);
}

}  // namespace tplm
