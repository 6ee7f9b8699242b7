#include "backend/cpu/attend.hpp"

#include <algorithm>
#include <vector>

#include "backend/cpu/kv_rows.hpp"
#include "backend/cpu/ops.hpp"

namespace tplm::cpu {

namespace {

// Where a job's pairs (or rows) start in the step's order: first[k] for job
// k, first.back() the total; the pair's job is the last k with first[k] <= j.
int64_t job_of(const std::vector<int64_t>& first, int64_t j) {
  return (std::upper_bound(first.begin(), first.end(), j) - first.begin()) - 1;
}

// The cache rows a job's first token reads (whole rows, every head).
KvRows rows_of(const AttendJob& job) {
  const AttentionShape& s = *job.s;
  const auto row_bytes = static_cast<int64_t>(kv_row_bytes(s.kv_type, s.n_kv_heads, s.head_dim));
  return {job.k_cache, job.v_cache, (s.pos0 + 1) * row_bytes};
}

}  // namespace

void attend_jobs(ThreadPool& pool, std::span<const AttendJob> jobs, int64_t min_work) {
  // work[j]: cache rows read by the pairs before pair j, over all jobs in order.
  std::vector<int64_t> work{0}, first{0};
  int64_t scratch_floats = 0, row_work = 0;
  for (const AttendJob& job : jobs) {
    const AttentionShape& s = *job.s;
    for (int64_t t = 0; t < s.n_tokens; ++t)
      for (int64_t h = 0; h < s.n_heads; ++h) work.push_back(work.back() + s.pos0 + t + 1);
    first.push_back(first.back() + s.n_tokens * s.n_heads);
    scratch_floats = std::max(scratch_floats, s.head_dim + s.n_heads * (s.pos0 + s.n_tokens));
    row_work = std::max(row_work, 2 * s.head_dim);
  }
  const int64_t total = work.back();
  if (total == 0) return;
  // A thread is worth waking for min_work multiply-adds (2 head_dim per row read).
  const int64_t parts =
      std::clamp<int64_t>(total * row_work / std::max<int64_t>(min_work, 1), 1, pool.size());
  pool.parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    std::vector<float> scratch(static_cast<size_t>(scratch_floats));
    for (int64_t p = p0; p < p1; ++p) {
      // Pairs [j0, j1): those whose work starts in this part's share.
      const auto pair_at = [&](int64_t share) {
        return std::lower_bound(work.begin(), work.end() - 1, total * share / parts) - work.begin();
      };
      int64_t j = pair_at(p);
      const int64_t j1 = pair_at(p + 1);
      while (j < j1) {
        const int64_t k = job_of(first, j);
        const AttendJob& job = jobs[static_cast<size_t>(k)];
        const int64_t end = std::min(j1, first[static_cast<size_t>(k) + 1]);
        const int64_t base = first[static_cast<size_t>(k)];
        attention_tasks(job.q, job.k_cache, job.v_cache, *job.s, job.out, j - base, end - base,
                        scratch.data(),
                        end < j1 ? rows_of(jobs[static_cast<size_t>(k) + 1]) : KvRows{});
        j = end;
      }
    }
  });
}

void rope_store_segments(ThreadPool& pool, std::span<const AttentionSegment> segments,
                         int64_t rope_dim, const float* inv_freq, int64_t min_work) {
  std::vector<int64_t> first{0};
  int64_t row_work = 1;
  for (const AttentionSegment& g : segments) {
    first.push_back(first.back() + g.s.n_tokens);
    row_work = std::max(row_work, 8 * (g.s.n_heads + g.s.n_kv_heads) * rope_dim);
  }
  const int64_t grain = std::max<int64_t>(1, min_work / row_work);
  pool.parallel_for(first.back(), grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t k = job_of(first, r);
      const AttentionSegment& g = segments[static_cast<size_t>(k)];
      const AttentionShape& s = g.s;
      const int64_t t = r - first[static_cast<size_t>(k)];
      rope_rows(g.q, s.n_heads, s.head_dim, rope_dim, inv_freq, s.positions, t, t + 1);
      rope_rows(g.k, s.n_kv_heads, s.head_dim, rope_dim, inv_freq, s.positions, t, t + 1);
      const int64_t row = s.n_kv_heads * s.head_dim;
      const auto row_bytes =
          static_cast<int64_t>(kv_row_bytes(s.kv_type, s.n_kv_heads, s.head_dim));
      const int64_t p = s.pos0 + t;
      store_kv_row(s.kv_type, g.k + t * row, s.n_kv_heads, s.head_dim,
                   static_cast<uint8_t*>(g.k_cache) + p * row_bytes);
      store_kv_row(s.kv_type, g.v + t * row, s.n_kv_heads, s.head_dim,
                   static_cast<uint8_t*>(g.v_cache) + p * row_bytes);
    }
  });
}

}  // namespace tplm::cpu
