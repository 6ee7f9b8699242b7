#pragma once
// A read-only memory map of a whole file, and a bounds-checked cursor over it
// for parsing headers. Every read past the end is a FormatError with the offset,
// never a read past the buffer.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "format/format_error.hpp"

namespace tplm {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws FormatError (missing, unreadable)
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

class Cursor {
 public:
  Cursor(const std::string& file, const uint8_t* data, uint64_t size, uint64_t offset = 0)
      : file_(file), data_(data), size_(size), pos_(offset) {}
  explicit Cursor(const MappedFile& f) : Cursor(f.path(), f.data(), f.size()) {}

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return size_; }
  uint64_t remaining() const { return size_ - pos_; }
  void seek(uint64_t pos);  // throws if past the end

  template <typename T>
  T read(const char* what) {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string_view bytes(uint64_t n, const char* what);  // view into the file
  void skip(uint64_t n, const char* what);
  void need(uint64_t n, const char* what) const;          // throws "truncated: ... needs N bytes"
  [[noreturn]] void fail(const std::string& what) const;  // FormatError at the current offset

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_;
};

}  // namespace tplm
