#include "runtime/decode_forecast.hpp"

#include <algorithm>
#include <chrono>

#include "parallel/plan.hpp"
#include "parallel/process_world.hpp"
#include "runtime/rank_devices.hpp"

namespace tplm {

FitCheck plan_memory_check(const ModelFile& model, BackendKind backend,
                           const std::vector<int>& gpus) {
  return [&model, backend, gpus](int tp) -> std::string {
    PlanLimits limits;
    if (backend != BackendKind::Cpu)
      limits.memory_per_rank = device_memory_per_rank(place_ranks(backend, tp, gpus));
    const std::vector<std::string> v = plan_violations(model, tp, limits);
    std::string why;
    for (const std::string& s : v) why += (why.empty() ? "" : "; ") + s;
    return why;
  };
}

MachineSpeed given_machine_speed(double host_gbps, double latency_us, double link_gbps,
                                 int ranks_per_host, const std::vector<int>& tps) {
  MachineSpeed m;
  m.transport = "given figures";
  m.host_read_bytes_per_s = host_gbps * 1e9;
  for (int tp : tps) {
    if (tp <= 1) continue;
    const int sharing = ranks_per_host > 0 ? std::min(tp, ranks_per_host) : tp;
    m.splits.emplace_back(tp, SplitSpeed{m.host_read_bytes_per_s / sharing,
                                         LinkCost{latency_us * 1e-6, link_gbps * 1e9}});
  }
  std::sort(m.splits.begin(), m.splits.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return m;
}

const DecodePrediction* Forecast::find(int tp) const {
  for (const DecodePrediction& d : rows)
    if (d.tp == tp) return &d;
  return nullptr;
}

Forecast forecast_decode(const ModelFile& model, const std::vector<int>& tps,
                         const MachineSpeed& speed, const FitCheck& fits) {
  Forecast f;
  f.speed = speed;
  std::vector<int> sorted = tps;
  std::sort(sorted.begin(), sorted.end());
  for (int tp : sorted) {
    if (!plan_violations(model, tp, {}).empty()) continue;
    if (tp > 1 && (speed.splits.empty() || speed.splits.front().first > tp)) continue;
    const Plan plan = make_plan(model, tp);
    DecodePrediction d = predict_decode(model.config, plan, speed.for_tp(tp));
    if (fits) {
      d.why_not = fits(tp);
      d.fits = d.why_not.empty();
    }
    f.rows.push_back(std::move(d));
  }
  return f;
}

Forecast measure_and_forecast(const ModelFile& model, const std::vector<int>& tps,
                              const SpeedProbeOptions& probe, const FitCheck& fits) {
  const auto t0 = std::chrono::steady_clock::now();
  const MachineSpeed speed = measure_machine_speed(model.config, tps, probe);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Forecast f = forecast_decode(model, tps, speed, fits);
  f.measure_seconds = std::max(seconds, 1e-9);
  return f;
}

std::vector<int> auto_tp_candidates(const ModelFile& model, BackendKind backend,
                                    const std::vector<int>& gpus) {
  std::vector<int> tps = measurable_tps(valid_tp_values(model), backend, gpus);
  // Under mpirun the world is the split: its processes cannot run tp 1.
  if (const auto world = detect_mpi_launch(); world && world->size > 1) std::erase(tps, 1);
  return tps;
}

AutoTpChoice choose_auto_tp(const ModelFile& model, const SpeedProbeOptions& probe,
                            const FitCheck& fits) {
  const std::vector<int> candidates = auto_tp_candidates(model, probe.backend, probe.gpus);
  return choose_tp(measure_and_forecast(model, candidates, probe, fits).rows);
}

std::vector<std::string> split_speed_warnings(const ModelFile& model, int tp,
                                              const SpeedProbeOptions& probe,
                                              const FitCheck& fits) {
  if (tp == 1) return {};
  const Forecast f = measure_and_forecast(model, {1, tp}, probe, fits);
  const DecodePrediction* one = f.find(1);
  const DecodePrediction* asked = f.find(tp);
  if (one == nullptr || asked == nullptr) return {};
  return decode_advice(*one, *asked);
}

}  // namespace tplm
