#pragma once
// What one exchange costs on the link a run will use, measured on that link
// (thread ranks, MPI processes on one host or across hosts, NCCL GPUs):
//
//   seconds(bytes) = latency + bytes / bandwidth
//
// fitted from the all-reduce's time at two sizes the model exchanges: one
// token's hidden vector (dim x 4 bytes, decode) and `prefill_tokens` of them
// (a prefill chunk). The bandwidth is the all-reduce's effective one: bytes of
// the vector reduced per second, whatever the algorithm moves underneath.
#include <cstddef>
#include <string>

#include "parallel/communicator.hpp"

namespace tplm {

struct LinkCost {
  double latency_s = 0;    // per exchange, whatever its size
  double bytes_per_s = 0;  // of the reduced vector; 0 = not measured
};

// One all-reduce of `bytes` bytes on this link.
double all_reduce_seconds(const LinkCost& link, double bytes);

// How long the probe may take, and the sizes it times.
struct LinkProbeOptions {
  size_t decode_count = 0;   // floats of one token's exchange (dim)
  size_t prefill_count = 0;  // floats of a prefill chunk's exchange (dim x chunk), at most
  double seconds = 0.6;      // about this long in all, both sizes together
};

// Times reduce_from_tensor_parallel at both sizes (the larger cut down on a
// link too slow to move it a few times in the time) on every rank of comm (a
// collective: every rank calls it with the same options). buffer: at least
// prefill_count floats of the backend's memory (its contents are overwritten).
// Rank 0's clock decides how many repetitions and rounds fit the time; its
// figures (the median round of each size) are the result on every rank.
// A world of one rank has no link: {0, 0}.
LinkCost probe_link(Communicator& comm, float* buffer, const LinkProbeOptions& options);

// The line fitted through (bytes_a, seconds_a) and (bytes_b, seconds_b),
// bytes_a < bytes_b. A larger size that took no longer (noise, or a link whose
// cost is all latency) gives the bandwidth bytes_b / seconds_b and the latency
// seconds_a.
LinkCost fit_link_cost(double bytes_a, double seconds_a, double bytes_b, double seconds_b);

}  // namespace tplm
