#pragma once
// The small kernels of one layer, written like llama2.c's so that its logits are
// reproduced to the last bits where the order of operations allows. Each
// function computes a range of rows (tokens) so the backend can split it over threads.
#include <cstdint>

#include "backend/backend.hpp"

namespace tplm::cpu {

// Rows [t0, t1): y = weight * (x / sqrt(mean(x^2) + eps)).
void rmsnorm_rows(const float* x, const float* weight, int64_t dim, float eps, float* y, int64_t t0,
                  int64_t t1);
// Tokens [t0, t1): rotate pairs (2i, 2i + 1), i < rope_dim / 2, of every head.
void rope_rows(float* x, int64_t n_heads, int64_t head_dim, int64_t rope_dim, const float* inv_freq,
               const int32_t* positions, int64_t t0, int64_t t1);
// Elements [i0, i1): out = silu(gate) * up, silu(g) = g / (1 + exp(-g)).
void swiglu_range(const float* gate, const float* up, float* out, int64_t i0, int64_t i1);
// Elements [i0, i1): x += y.
void add_range(float* x, const float* y, int64_t i0, int64_t i1);
// Cache bytes a thread reads next: K rows and V rows, `bytes` of each from k and v.
struct KvRows {
  const void* k = nullptr;
  const void* v = nullptr;
  int64_t bytes = 0;
};
// Tasks [j0, j1) of attention, task j = (token j / n_heads, head j % n_heads).
// K and V rows in s.kv_type. scratch: at least head_dim + n_heads * (pos0 + T)
// floats. `after`: what the thread computes next, fetched while this runs.
void attention_tasks(const float* q, const void* k_cache, const void* v_cache,
                     const AttentionShape& s, float* out, int64_t j0, int64_t j1, float* scratch,
                     const KvRows& after = {});
// Tokens [t0, t1) of a (vocab-parallel) embedding lookup.
void embed_rows(const WeightView& table, int64_t row_begin, const int32_t* ids, float* out,
                int64_t t0, int64_t t1);

}  // namespace tplm::cpu
