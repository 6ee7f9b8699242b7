#pragma once
// The host's memory read bandwidth as a decode kernel sees it: `threads`
// threads each sum their share of a buffer far larger than the caches (in the
// backend's host memory, on huge pages as the weights are), with wide loads,
// `passes` times; the best pass is the figure (the others carry page faults
// and a busy machine's interruptions).
#include <cstdint>

namespace tplm::cpu {

// Bytes per second read by `threads` threads over a buffer of `bytes` bytes
// (rounded down to a whole number of 64-byte lines per thread), best of
// `passes` passes. Throws Error when threads < 1, passes < 1 or bytes is too
// small to give each thread one line.
double read_bandwidth_bytes_per_s(int threads, uint64_t bytes, int passes);

}  // namespace tplm::cpu
