// Causal attention with grouped-query heads, one (token, head) pair per task:
//   score_j = q . k_j / sqrt(head_dim),  j = 0 .. pos0 + t
//   p = softmax(score) (max subtracted first),  out = sum_j p_j v_j
// K and V rows are read in the cache's storage type (s.kv_type): f32 and f16
// heads in place by the kernels (kernels.hpp: dot_f32_rows, add_scaled_rows),
// q8_0 heads converted to float32 first (kv_rows.hpp).
// The cache has left the CPU's caches by the time a step's attention runs
// (the weights went through them since), and a head's rows are a row apart:
// read head by head, the cache came at ~12 GB/s on this 2-core machine. So a
// token's heads run together, chunk by chunk of positions (the whole rows of
// a chunk fetched while the previous one runs), and the rows of the token the
// thread does next are fetched into L2 meanwhile (bench_kernels BM_attention,
// 16 sequences x 100 positions: 572 -> 343 us per layer).
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

// A q8_0 cache's rows are converted one by one: the row this many positions
// ahead is fetched as they go (16 streams of a 110M Q8_0 model served 886-896
// tok/s with 8, 772-865 with 24 and 796-881 with 48, when every cache type
// was read this way).
constexpr int64_t kPrefetchAhead = 8;

// Positions of a token's heads computed together: each head's scores (and
// then its weighted sums) over these rows before the next rows, while the
// rows after them are fetched.
constexpr int64_t kChunkRows = 16;

// The rows of KvRows asked for a few lines at a time (into L2: they are read
// a whole token later), so that the memory works while the kernels run.
struct KvStream {
  KvRows rows;
  int64_t issued = 0;  // lines asked for: K's, then V's
  int64_t lines() const { return 2 * ((rows.bytes + 63) / 64); }
  void fetch(int64_t n) {
    const int64_t per = (rows.bytes + 63) / 64;
    for (const int64_t end = std::min(issued + n, 2 * per); issued < end; ++issued)
      __builtin_prefetch(
          static_cast<const uint8_t*>(issued < per ? rows.k : rows.v) + 64 * (issued % per), 0, 2);
  }
};

// p[i] = softmax(scale * p)[i] over n scores: each scaled, the largest
// subtracted before exp, then divided by the sum (added in order).
void softmax_scaled(float* p, int64_t n, float scale) {
  const float max_score = scale_and_max(p, n, scale);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    p[i] = std::exp(p[i] - max_score);
    sum += p[i];
  }
  divide_all(p, n, sum);
}

// Heads [h0, h1) of token t, cache rows read in place (f32, f16): scores of
// every head over kChunkRows positions at a time, softmax per head, then the
// weighted sums the same way. A head's arithmetic is the pair-by-pair order
// (each score alone, each output element over the rows in order), so the
// grouping changes no bit. While a chunk runs, the next chunk's rows come
// into L1 and `next` into L2, a share per chunk and head: the only fetches
// (the row kernels fetch nothing themselves; fetching again there measured
// 4-7% slower, BM_attention).
void heads_in_place(const float* q, const KvReader& keys, const KvReader& values,
                    const AttentionShape& s, float* out, int64_t t, int64_t h0, int64_t h1,
                    float* scores, KvStream& next) {
  const int64_t hd = s.head_dim, group = s.n_heads / s.n_kv_heads;
  const int64_t n_pos = s.pos0 + t + 1, ctx = s.pos0 + s.n_tokens, heads = h1 - h0;
  const int64_t kv0 = h0 / group, span = ((h1 - 1) / group + 1 - kv0) * keys.head_bytes;
  const int64_t chunks = (n_pos + kChunkRows - 1) / kChunkRows;
  const int64_t share = (next.lines() + 2 * chunks * heads - 1) / (2 * chunks * heads);
  // Head h's part of rows [p0, p0 + kChunkRows)'s spans, into L1.
  const auto fetch_chunk = [&](const KvReader& r, int64_t p0, int64_t h) {
    const int64_t n = std::min(kChunkRows, n_pos - p0), lines = (span + 63) / 64;
    for (int64_t i = n * lines * h / heads; n > 0 && i < n * lines * (h + 1) / heads; ++i)
      __builtin_prefetch(r.first_row(kv0) + (p0 + i / lines) * r.row_bytes + 64 * (i % lines));
  };
  // Every chunk of positions, every head: first the fetches (the reader's
  // next chunk, or `then`'s first after the last chunk, and a share of
  // next), then kernel(h, p0, n) on rows [p0, p0 + n).
  const auto over_chunks = [&](const KvReader& reader, const KvReader* then, auto&& kernel) {
    for (int64_t p0 = 0; p0 < n_pos; p0 += kChunkRows) {
      const bool last = p0 + kChunkRows >= n_pos;
      for (int64_t h = h0; h < h1; ++h) {
        if (!last) fetch_chunk(reader, p0 + kChunkRows, h - h0);
        if (last && then != nullptr) fetch_chunk(*then, 0, h - h0);
        next.fetch(share);
        kernel(h, p0, std::min(kChunkRows, n_pos - p0));
      }
    }
  };
  for (int64_t h = 0; h < heads; ++h) fetch_chunk(keys, 0, h);
  const DType type = keys.in_place_type();
  over_chunks(keys, &values, [&](int64_t h, int64_t p0, int64_t n) {
    dot_f32_rows(type, keys.first_row(h / group) + p0 * keys.row_bytes, keys.row_bytes,
                 q + (t * s.n_heads + h) * hd, n, scores + (h - h0) * ctx + p0, hd);
  });
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int64_t h = h0; h < h1; ++h) {
    softmax_scaled(scores + (h - h0) * ctx, n_pos, scale);
    std::fill_n(out + (t * s.n_heads + h) * hd, hd, 0.0f);
  }
  over_chunks(values, nullptr, [&](int64_t h, int64_t p0, int64_t n) {
    add_scaled_rows(type, values.first_row(h / group) + p0 * values.row_bytes, values.row_bytes,
                    scores + (h - h0) * ctx + p0, n, out + (t * s.n_heads + h) * hd, hd);
  });
}

}  // namespace

void attention_tasks(const float* q, const void* k_cache, const void* v_cache,
                     const AttentionShape& s, float* out, int64_t j0, int64_t j1, float* scratch,
                     const KvRows& after) {
  const int64_t hd = s.head_dim;
  const int64_t group = s.n_heads / s.n_kv_heads;  // query heads per kv head
  const auto row_bytes = static_cast<int64_t>(kv_row_bytes(s.kv_type, s.n_kv_heads, hd));
  const auto head_bytes = static_cast<int64_t>(kv_row_bytes(s.kv_type, 1, hd));
  float* head = scratch;         // one converted head: hd floats
  float* scores = scratch + hd;  // pos0 + T floats a head
  const KvReader keys{s.kv_type, static_cast<const uint8_t*>(k_cache), row_bytes, head_bytes, hd,
                      head};
  const KvReader values{s.kv_type, static_cast<const uint8_t*>(v_cache), row_bytes, head_bytes, hd,
                        head};
  if (keys.in_place()) {
    // A token's heads together; while they run, the rows of the next token
    // (this sequence's, or `after`) are fetched.
    for (int64_t j = j0; j < j1;) {
      const int64_t t = j / s.n_heads, h0 = j % s.n_heads;
      const int64_t h1 = std::min(s.n_heads, h0 + (j1 - j));
      KvStream next{after};
      if (j + (h1 - h0) < j1) next.rows = {k_cache, v_cache, (s.pos0 + t + 2) * row_bytes};
      heads_in_place(q, keys, values, s, out, t, h0, h1, scores, next);
      j += h1 - h0;
    }
    return;
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int64_t j = j0; j < j1; ++j) {
    const int64_t t = j / s.n_heads, h = j % s.n_heads, kvh = h / group;
    const float* qh = q + (t * s.n_heads + h) * hd;
    const int64_t n_pos = s.pos0 + t + 1;  // causal: positions 0 .. pos0 + t
    for (int64_t p = 0; p < std::min(kPrefetchAhead, n_pos); ++p) keys.prefetch(p, kvh);
    for (int64_t p = 0; p < n_pos; ++p) {
      if (p + kPrefetchAhead < n_pos) keys.prefetch(p + kPrefetchAhead, kvh);
      const CachedHead k = keys.at(p, kvh);
      scores[p] = dot_f32_row(k.type, k.row, qh, hd);
    }
    for (int64_t p = 0; p < std::min(kPrefetchAhead, n_pos); ++p) values.prefetch(p, kvh);
    softmax_scaled(scores, n_pos, scale);
    float* o = out + (t * s.n_heads + h) * hd;
    std::fill_n(o, hd, 0.0f);
    for (int64_t p = 0; p < n_pos; ++p) {
      if (p + kPrefetchAhead < n_pos) values.prefetch(p + kPrefetchAhead, kvh);
      const CachedHead v = values.at(p, kvh);
      add_scaled_row(v.type, scores[p], v.row, o, hd);
    }
  }
}

}  // namespace tplm::cpu
