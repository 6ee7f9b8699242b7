// q8_0 of one head: blocks of b = kv_q8_block(head_dim) values, each stored as
// an f16 scale d = max|x| / 127 and b int8 q = round(x / d) (0 when the block
// is all zeros); a value reads back as f16(d) * q, within d / 2 of x.
#include "backend/cpu/kv_rows.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu/kernels.hpp"
#include "format/half.hpp"

namespace tplm::cpu {

namespace {

int64_t q8_head_bytes(int64_t head_dim) {
  return static_cast<int64_t>(kv_row_bytes(KvType::Q8_0, 1, head_dim));
}

void store_q8_head(const float* x, int64_t head_dim, uint8_t* out) {
  const int64_t b = kv_q8_block(head_dim);
  for (int64_t j = 0; j < head_dim; j += b, out += 2 + b) {
    float amax = 0.0f;
    for (int64_t i = 0; i < b; ++i) amax = std::max(amax, std::fabs(x[j + i]));
    const float d = amax / 127.0f, inv = d > 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = f32_to_f16(d);
    std::memcpy(out, &dh, sizeof dh);
    for (int64_t i = 0; i < b; ++i) {
      const float q = std::nearbyint(x[j + i] * inv);
      out[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f)));
    }
  }
}

void load_q8_head(const uint8_t* in, int64_t head_dim, float* out) {
  const int64_t b = kv_q8_block(head_dim);
  for (int64_t j = 0; j < head_dim; j += b, in += 2 + b) {
    const float d = f16_to_f32(load_u16(in));
    for (int64_t i = 0; i < b; ++i)
      out[j + i] = d * static_cast<float>(static_cast<int8_t>(in[2 + i]));
  }
}

}  // namespace

void store_kv_row(KvType t, const float* x, int64_t n_heads, int64_t head_dim, void* row) {
  const int64_t n = n_heads * head_dim;
  switch (t) {
    case KvType::F32:
      std::memcpy(row, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case KvType::F16: {
      auto* h = static_cast<uint8_t*>(row);
#if defined(__x86_64__)
      if (have_avx2()) return f32_to_f16_row_avx2(x, n, h);
#endif
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t v = f32_to_f16(x[i]);
        std::memcpy(h + 2 * i, &v, sizeof v);
      }
      return;
    }
    case KvType::Q8_0:
      for (int64_t h = 0; h < n_heads; ++h)
        store_q8_head(x + h * head_dim, head_dim,
                      static_cast<uint8_t*>(row) + h * q8_head_bytes(head_dim));
      return;
  }
}

const float* load_kv_head(KvType t, const void* row, int64_t h, int64_t head_dim, float* out) {
  switch (t) {
    case KvType::F32:
      return static_cast<const float*>(row) + h * head_dim;
    case KvType::F16: {
      const auto* p = static_cast<const uint8_t*>(row) + 2 * h * head_dim;
      for (int64_t i = 0; i < head_dim; ++i) out[i] = f16_to_f32(load_u16(p + 2 * i));
      return out;
    }
    case KvType::Q8_0:
      load_q8_head(static_cast<const uint8_t*>(row) + h * q8_head_bytes(head_dim), head_dim, out);
      return out;
  }
  return out;
}

}  // namespace tplm::cpu
