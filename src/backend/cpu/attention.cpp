// Causal attention with grouped-query heads, one (token, head) pair per task:
//   score_j = q . k_j / sqrt(head_dim),  j = 0 .. pos0 + t
//   p = softmax(score) (max subtracted first),  out = sum_j p_j v_j
// K and V rows are read in the cache's storage type (s.kv_type), each head
// converted to float32 as it is read (kv_rows.hpp); f32 rows are read in place.
#include <cmath>

#include "backend/cpu/kernels.hpp"
#include "backend/cpu/kv_rows.hpp"
#include "backend/cpu/ops.hpp"

namespace tplm::cpu {

void attention_tasks(const float* q, const void* k_cache, const void* v_cache,
                     const AttentionShape& s, float* out, int64_t j0, int64_t j1, float* scratch) {
  const int64_t hd = s.head_dim;
  const int64_t group = s.n_heads / s.n_kv_heads;  // query heads per kv head
  const auto row_bytes = static_cast<int64_t>(kv_row_bytes(s.kv_type, s.n_kv_heads, hd));
  const auto* k_rows = static_cast<const uint8_t*>(k_cache);
  const auto* v_rows = static_cast<const uint8_t*>(v_cache);
  float* head = scratch;         // one converted head: hd floats
  float* scores = scratch + hd;  // pos0 + T floats
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int64_t j = j0; j < j1; ++j) {
    const int64_t t = j / s.n_heads, h = j % s.n_heads, kvh = h / group;
    const float* qh = q + (t * s.n_heads + h) * hd;
    const int64_t n_pos = s.pos0 + t + 1;  // causal: positions 0 .. pos0 + t
    float max_score = -INFINITY;
    for (int64_t p = 0; p < n_pos; ++p) {
      const float* k = load_kv_head(s.kv_type, k_rows + p * row_bytes, kvh, hd, head);
      scores[p] = dot_f32(qh, k, hd) * scale;
      max_score = std::fmax(max_score, scores[p]);
    }
    float sum = 0.0f;
    for (int64_t p = 0; p < n_pos; ++p) {
      scores[p] = std::exp(scores[p] - max_score);
      sum += scores[p];
    }
    float* o = out + (t * s.n_heads + h) * hd;
    for (int64_t d = 0; d < hd; ++d) o[d] = 0.0f;
    for (int64_t p = 0; p < n_pos; ++p) {
      const float a = scores[p] / sum;
      const float* v = load_kv_head(s.kv_type, v_rows + p * row_bytes, kvh, hd, head);
      for (int64_t d = 0; d < hd; ++d) o[d] += a * v[d];
    }
  }
}

}  // namespace tplm::cpu
