#pragma once
// The figures decode predictions need, measured on this machine in about a
// second over the transport a run will use (decode_prediction.hpp has the
// arithmetic):
//   - the read bandwidth of rank 0's device alone (what tp 1 gets): the host's
//     memory read by every core (cpu), or the GPU's memory;
//   - for each split measured: each rank's share of its device's bandwidth
//     (ranks on one host share its memory: host bandwidth / ranks on the
//     host; under mpirun every host is measured alone, one after the other,
//     and the slowest rank counts) and the link's cost (probe_link over the
//     communicators the run would use: thread ranks, MPI, NCCL).
// Under mpirun this is a collective: every process calls it with the same
// arguments, and the figures are rank 0's on every process.
#include <string>
#include <utility>
#include <vector>

#include "backend/backend.hpp"
#include "format/model_config.hpp"
#include "parallel/decode_prediction.hpp"

namespace tplm {

struct SpeedProbeOptions {
  BackendKind backend = BackendKind::Cpu;
  std::vector<int> gpus;          // --gpus (cuda)
  double timeout_seconds = 60.0;  // a collective that waits longer fails
  double link_seconds = 0.6;      // the link probes' time, all splits together
  // Tokens of a prefill chunk whose exchange the probe times beside one token's.
  int prefill_tokens = 32;
};

struct MachineSpeed {
  std::string transport;                           // how the measured ranks exchange, in words
  double host_read_bytes_per_s = 0;                // rank 0's device alone
  std::vector<std::pair<int, SplitSpeed>> splits;  // tp > 1, measured, ascending
  // tp 1: the device alone, no link. Else the split measured at tp, or at the
  // largest measured tp below it (same link, each rank's share of its host
  // bandwidth scaled to tp ranks per host); throws Error when none was.
  SplitSpeed for_tp(int tp) const;
};

// The tps of `wanted` that can be measured here: thread ranks up to the cores
// (cpu) or the GPUs (cuda); under mpirun only the world's size.
std::vector<int> measurable_tps(const std::vector<int>& wanted, BackendKind backend,
                                const std::vector<int>& gpus);

// Measures rank 0's device and each tp > 1 of measurable_tps(tps).
MachineSpeed measure_machine_speed(const ModelConfig& config, const std::vector<int>& tps,
                                   const SpeedProbeOptions& options);

}  // namespace tplm
