// Causal attention with grouped-query heads, one (token, head) pair per task:
//   score_j = q . k_j / sqrt(head_dim),  j = 0 .. pos0 + t
//   p = softmax(score) (max subtracted first),  out = sum_j p_j v_j
// K and V rows are read in the cache's storage type (s.kv_type): f32 and f16
// heads in place by the kernels (kernels.hpp: dot_f32_row, add_scaled_row),
// q8_0 heads converted to float32 first (kv_rows.hpp).
#include <algorithm>
#include <cmath>

#include "backend/cpu/kernels.hpp"
#include "backend/cpu/kv_rows.hpp"
#include "backend/cpu/ops.hpp"

namespace tplm::cpu {

namespace {

// One cached head of one position, as the kernels read it.
struct CachedHead {
  DType type;       // F32 or F16: read in place; else converted into `head`
  const void* row;  // its values
};

struct KvReader {
  KvType kv_type;
  const uint8_t* rows;
  int64_t row_bytes, head_bytes, head_dim;
  float* head;  // head_dim floats for a converted head

  // F32 and F16 heads are read where they are stored; Q8_0 ones converted.
  bool in_place() const { return kv_type != KvType::Q8_0; }
  DType in_place_type() const { return kv_type == KvType::F16 ? DType::F16 : DType::F32; }
  // Head kvh of position 0: position p is p * row_bytes further.
  const uint8_t* first_row(int64_t kvh) const { return rows + kvh * head_bytes; }

  CachedHead at(int64_t p, int64_t kvh) const {
    if (in_place()) return {in_place_type(), first_row(kvh) + p * row_bytes};
    return {DType::F32, load_kv_head(kv_type, rows + p * row_bytes, kvh, head_dim, head)};
  }
  // A head's rows lie row_bytes apart, and the step's weights have pushed them
  // out of the caches: ask for a row some positions before it is read, so that
  // the reads overlap instead of waiting on memory one by one.
  void prefetch(int64_t p, int64_t kvh) const {
    const uint8_t* head_at = first_row(kvh) + p * row_bytes;
    for (int64_t off = 0; off < head_bytes; off += 64) __builtin_prefetch(head_at + off);
  }
};

constexpr int64_t kPrefetchAhead = kKvRowsAhead;  // positions

}  // namespace

void attention_tasks(const float* q, const void* k_cache, const void* v_cache,
                     const AttentionShape& s, float* out, int64_t j0, int64_t j1, float* scratch) {
  const int64_t hd = s.head_dim;
  const int64_t group = s.n_heads / s.n_kv_heads;  // query heads per kv head
  const auto row_bytes = static_cast<int64_t>(kv_row_bytes(s.kv_type, s.n_kv_heads, hd));
  const auto head_bytes = static_cast<int64_t>(kv_row_bytes(s.kv_type, 1, hd));
  float* head = scratch;         // one converted head: hd floats
  float* scores = scratch + hd;  // pos0 + T floats
  const KvReader keys{s.kv_type, static_cast<const uint8_t*>(k_cache), row_bytes, head_bytes, hd,
                      head};
  const KvReader values{s.kv_type, static_cast<const uint8_t*>(v_cache), row_bytes, head_bytes, hd,
                        head};
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int64_t j = j0; j < j1; ++j) {
    const int64_t t = j / s.n_heads, h = j % s.n_heads, kvh = h / group;
    const float* qh = q + (t * s.n_heads + h) * hd;
    const int64_t n_pos = s.pos0 + t + 1;  // causal: positions 0 .. pos0 + t
    float max_score = -INFINITY;
    for (int64_t p = 0; p < std::min(kPrefetchAhead, n_pos); ++p) keys.prefetch(p, kvh);
    if (keys.in_place()) {  // all positions in one call
      dot_f32_rows(keys.in_place_type(), keys.first_row(kvh), row_bytes, qh, n_pos, scores, hd);
    } else {
      for (int64_t p = 0; p < n_pos; ++p) {
        if (p + kPrefetchAhead < n_pos) keys.prefetch(p + kPrefetchAhead, kvh);
        const CachedHead k = keys.at(p, kvh);
        scores[p] = dot_f32_row(k.type, k.row, qh, hd);
      }
    }
    for (int64_t p = 0; p < n_pos; ++p) {
      scores[p] *= scale;
      max_score = std::fmax(max_score, scores[p]);
    }
    for (int64_t p = 0; p < std::min(kPrefetchAhead, n_pos); ++p) values.prefetch(p, kvh);
    float sum = 0.0f;
    for (int64_t p = 0; p < n_pos; ++p) {
      scores[p] = std::exp(scores[p] - max_score);
      sum += scores[p];
    }
    float* o = out + (t * s.n_heads + h) * hd;
    for (int64_t d = 0; d < hd; ++d) o[d] = 0.0f;
    for (int64_t p = 0; p < n_pos; ++p) scores[p] /= sum;
    if (values.in_place()) {  // all positions in one call
      add_scaled_rows(values.in_place_type(), values.first_row(kvh), row_bytes, scores, n_pos, o,
                      hd);
      continue;
    }
    for (int64_t p = 0; p < n_pos; ++p) {
      if (p + kPrefetchAhead < n_pos) values.prefetch(p + kPrefetchAhead, kvh);
      const CachedHead v = values.at(p, kvh);
      add_scaled_row(v.type, scores[p], v.row, o, hd);
    }
  }
}

}  // namespace tplm::cpu
