#pragma once
// Reads byte ranges of tensors with pread: a rank asks for the block of rows
// [row_begin, row_end) x columns [col_begin, col_end) of a 2-D tensor and gets
// only those bytes. Whole rows are one contiguous read; a column slice is one
// read per row (strided). Quantized blocks are never cut: col_begin and
// col_end must be multiples of the block size.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "base/range.hpp"
#include "format/tensor_info.hpp"

namespace tplm {

class TensorReader {
 public:
  TensorReader() = default;
  ~TensorReader();
  TensorReader(const TensorReader&) = delete;
  TensorReader& operator=(const TensorReader&) = delete;

  // Bytes needed for the block (rows.size() packed rows of cols.size() elements).
  static uint64_t block_bytes(const TensorInfo& t, Range rows, Range cols);
  // Reads the block into dst (block_bytes(...) bytes). Throws FormatError on a
  // short read or a range outside the tensor.
  void read_block(const TensorInfo& t, Range rows, Range cols, void* dst);
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  int fd_for(const std::string& path);
  std::map<std::string, int> fds_;
  uint64_t bytes_read_ = 0;
};

}  // namespace tplm
