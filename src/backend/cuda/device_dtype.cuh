#pragma once
// Stored dtypes on the device: exact conversions to float32 (the same values
// format/dtype_convert.cpp gives on the host) and the block layouts of Q8_0
// (f16 scale + 32 int8: 34 bytes) and Q4_0 (f16 scale + 16 bytes of nibbles:
// 18 bytes; byte j holds element j low, element j + 16 high).
#include <cuda_fp16.h>

#include <cstdint>

#include <string>

#include "base/error.hpp"
#include "format/dtype.hpp"

namespace tplm::cuda {

constexpr int kQBlock = 32;
constexpr int kQ8Bytes = 34;
constexpr int kQ4Bytes = 18;

__device__ __forceinline__ float bf16_bits(uint32_t b) {
  return __uint_as_float(b << 16);
}
__device__ __forceinline__ float f16_bits(uint16_t h) {
  return __half2float(__ushort_as_half(h));
}
// p is 2-byte aligned (every block and row of ours is).
__device__ __forceinline__ uint16_t load_u16(const uint8_t* p) {
  return *reinterpret_cast<const uint16_t*>(p);
}

// Element c of a row stored as DT.
template <DType DT>
__device__ __forceinline__ float load_elem(const uint8_t* row, int64_t c) {
  if constexpr (DT == DType::F32) {
    return reinterpret_cast<const float*>(row)[c];
  } else if constexpr (DT == DType::F16) {
    return f16_bits(load_u16(row + 2 * c));
  } else if constexpr (DT == DType::BF16) {
    return bf16_bits(load_u16(row + 2 * c));
  } else if constexpr (DT == DType::Q8_0) {
    const uint8_t* blk = row + (c / kQBlock) * kQ8Bytes;
    const float d = f16_bits(load_u16(blk));
    return d * static_cast<float>(static_cast<int8_t>(blk[2 + c % kQBlock]));
  } else {
    static_assert(DT == DType::Q4_0, "a dtype without a device loader");
    const uint8_t* blk = row + (c / kQBlock) * kQ4Bytes;
    const float d = f16_bits(load_u16(blk));
    const int j = static_cast<int>(c % kQBlock);
    const uint8_t byte = blk[2 + (j & 15)];
    const int q = j < 16 ? (byte & 0x0f) : (byte >> 4);
    return d * static_cast<float>(q - 8);
  }
}

// Calls f.template operator()<DT>() for the runtime dtype dt.
template <class F>
void dispatch_dtype(DType dt, F&& f) {
  switch (dt) {
    case DType::F32:
      f.template operator()<DType::F32>();
      return;
    case DType::F16:
      f.template operator()<DType::F16>();
      return;
    case DType::BF16:
      f.template operator()<DType::BF16>();
      return;
    case DType::Q8_0:
      f.template operator()<DType::Q8_0>();
      return;
    case DType::Q4_0:
      f.template operator()<DType::Q4_0>();
      return;
    default:  // K-quants: refused before loading (backend_supports_dtype)
      throw Error("cuda: no kernels for " + std::string(dtype_name(dt)) + " weights yet");
  }
}

}  // namespace tplm::cuda
