#include "parallel/link_cost.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

#include "parallel/mappings.hpp"

namespace tplm {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// What rank 0 tells every rank after a round: the round's time, whether to go
// on, and how many all-reduces the next round makes.
struct Round {
  double seconds = 0;
  int32_t more = 0;
  int32_t reps = 1;
};

// Seconds of one all-reduce of count floats, sustained (calls back to back,
// as a decode step makes them): the total time of the rounds after the first
// (the warm-up: first touch of the buffers, connections) over their calls.
// Rounds of `reps` calls run for about `budget` seconds of rank 0's clock (3
// to 12 rounds); each round's calls grow towards a sixth of the budget, at
// most 8 times the last round's, since a link with a token bucket (tc tbf)
// passes a few calls at once and the rest at its rate.
double time_all_reduce(Communicator& comm, float* buffer, size_t count, double budget) {
  ControlChannel& control = comm.control();
  const auto start = Clock::now();
  double seconds = 0;
  int64_t calls = 0;
  int reps = 1;
  for (int round = 1;; ++round) {
    control.barrier();  // every rank starts the round together
    const auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) reduce_from_tensor_parallel(comm, buffer, count);
    comm.settle();  // device communicators queue the work: wait for it
    Round r;
    r.seconds = seconds_since(t0);
    if (comm.rank() == 0) {
      const double spent = seconds_since(start);
      r.more = (round < 3 || (spent < budget && round < 12)) ? 1 : 0;
      const double per_call = std::max(r.seconds / reps, 1e-9);
      r.reps = static_cast<int32_t>(std::clamp(budget / 6.0 / per_call, 1.0, 8.0 * reps));
    }
    broadcast_from_rank0(control, r);
    if (round > 1) {
      seconds += r.seconds;
      calls += reps;
    }
    if (r.more == 0) break;
    reps = r.reps;
  }
  return seconds / static_cast<double>(std::max<int64_t>(calls, 1));
}

}  // namespace

double all_reduce_seconds(const LinkCost& link, double bytes) {
  return link.latency_s + (link.bytes_per_s > 0 ? bytes / link.bytes_per_s : 0.0);
}

LinkCost fit_link_cost(double bytes_a, double seconds_a, double bytes_b, double seconds_b) {
  LinkCost c;
  if (seconds_b > seconds_a && bytes_b > bytes_a) {
    c.bytes_per_s = (bytes_b - bytes_a) / (seconds_b - seconds_a);
    c.latency_s = std::max(0.0, seconds_a - bytes_a / c.bytes_per_s);
  } else {
    c.bytes_per_s = bytes_b / std::max(seconds_b, 1e-12);
    c.latency_s = std::max(0.0, seconds_a);
  }
  return c;
}

LinkCost probe_link(Communicator& comm, float* buffer, const LinkProbeOptions& o) {
  if (comm.world_size() == 1) return {};
  const size_t small = std::max<size_t>(1, o.decode_count);
  const double t_small = time_all_reduce(comm, buffer, small, o.seconds / 2);
  // The chunk: up to prefill_count floats, fewer on a slow link, so that one
  // call takes about an eighth of its half of the time (a 10 Mbit/s link moves
  // a 32-token chunk of dim 2048 in a quarter of a second). t_small is rank
  // 0's figure on every rank, so every rank picks the same size.
  const double fit = std::floor(o.seconds / 2 / 8 / std::max(t_small, 1e-9));
  const size_t most = std::max(2 * small, o.prefill_count);
  const size_t large = std::clamp(small * static_cast<size_t>(std::min(fit, 1e6)), 2 * small, most);
  const double t_large = time_all_reduce(comm, buffer, large, o.seconds / 2);
  return fit_link_cost(static_cast<double>(small * sizeof(float)), t_small,
                       static_cast<double>(large * sizeof(float)), t_large);
}

}  // namespace tplm
