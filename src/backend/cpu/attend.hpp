#pragma once
// Attention of a whole step on one rank's threads: every sequence's
// (token, head) pairs in one job for the pool, split by their work rather
// than their count, and RoPE + the cache stores of every sequence's rows in
// another. A step of 16 decoding sequences is two hand-offs per layer instead
// of four per sequence.
#include <cstdint>
#include <span>

#include "backend/backend.hpp"
#include "backend/cpu/thread_pool.hpp"

namespace tplm::cpu {

// One sequence's attention: Backend::attention's arguments.
struct AttendJob {
  const float* q = nullptr;
  const void* k_cache = nullptr;
  const void* v_cache = nullptr;
  const AttentionShape* s = nullptr;
  float* out = nullptr;
};

// Backend::attention for every job (shapes already checked). A pair at
// position p reads p + 1 cache rows; each thread gets about the same number
// of rows to read. Every pair is computed alone, so the split never changes a bit.
void attend_jobs(ThreadPool& pool, std::span<const AttendJob> jobs, int64_t min_work);

// Backend::rope_store_kv for every segment: token rows over the threads.
void rope_store_segments(ThreadPool& pool, std::span<const AttentionSegment> segments,
                         int64_t rope_dim, const float* inv_freq, int64_t min_work);

}  // namespace tplm::cpu
