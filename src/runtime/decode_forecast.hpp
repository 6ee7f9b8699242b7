#pragma once
// Predicted decode speed of every split of a model on this machine, and what
// follows from it: the advice `run` warns with and `plan` prints, and the
// choice of --tp auto. The arithmetic is parallel/decode_prediction.hpp's;
// the figures are measured here (speed_probe.hpp) or given.
#include <functional>
#include <string>
#include <vector>

#include "format/model_file.hpp"
#include "parallel/decode_prediction.hpp"
#include "runtime/speed_probe.hpp"

namespace tplm {

// Why tp's ranks do not fit their devices' memory, or "" when they do.
using FitCheck = std::function<std::string(int tp)>;

// The memory check the plan makes today: each rank's weights and KV cache
// against its GPU's free memory (cuda); cpu ranks always fit here.
FitCheck plan_memory_check(const ModelFile& model, BackendKind backend,
                           const std::vector<int>& gpus);

// Figures given instead of measured (plan's --read-bandwidth, --link-*):
// every host reads host_gbps, ranks_per_host ranks share one (0: every rank
// on one host), and each exchange costs latency_us + bytes / link_gbps.
MachineSpeed given_machine_speed(double host_gbps, double latency_us, double link_gbps,
                                 int ranks_per_host, const std::vector<int>& tps);

struct Forecast {
  MachineSpeed speed;
  double measure_seconds = 0;          // 0: the figures were given
  std::vector<DecodePrediction> rows;  // tp ascending: those the model takes and speed covers
  const DecodePrediction* find(int tp) const;  // nullptr when not predicted
};

// One row per tp of tps that the model can split and speed has figures for.
Forecast forecast_decode(const ModelFile& model, const std::vector<int>& tps,
                         const MachineSpeed& speed, const FitCheck& fits);

// Measures this machine for tps (a collective under mpirun) and forecasts them.
Forecast measure_and_forecast(const ModelFile& model, const std::vector<int>& tps,
                              const SpeedProbeOptions& probe, const FitCheck& fits);

// The tps --tp auto chooses among: those the model takes, limited to the
// cores (cpu) or GPUs (cuda) present; under mpirun the world's size.
std::vector<int> auto_tp_candidates(const ModelFile& model, BackendKind backend,
                                    const std::vector<int>& gpus);

// --tp auto: measures this machine for auto_tp_candidates and chooses
// (choose_tp). A collective under mpirun.
AutoTpChoice choose_auto_tp(const ModelFile& model, const SpeedProbeOptions& probe,
                            const FitCheck& fits);

// What `run` warns about a split of tp ranks (decode_advice of tp 1 and tp;
// empty at tp 1): measures tp 1's device and tp's link. A collective under mpirun.
std::vector<std::string> split_speed_warnings(const ModelFile& model, int tp,
                                              const SpeedProbeOptions& probe, const FitCheck& fits);

}  // namespace tplm
