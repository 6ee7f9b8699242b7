#include "runtime/speed_probe.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/error.hpp"
#include "parallel/link_cost.hpp"
#include "parallel/mappings.hpp"
#include "parallel/process_world.hpp"
#include "runtime/launcher.hpp"
#include "runtime/rank_devices.hpp"
#include "runtime/run_options.hpp"

namespace tplm {

namespace {

double device_read_bytes_per_s(BackendKind backend, int device) {
  const double gbps = backend_read_bandwidth_gbps(backend, device);
  if (gbps <= 0)
    throw Error(fmt::format("cannot measure the read bandwidth of the {} device {}",
                            backend_kind_name(backend), device));
  return gbps * 1e9;
}

LinkProbeOptions link_probe_options(const ModelConfig& c, const SpeedProbeOptions& o,
                                    size_t splits) {
  LinkProbeOptions lp;
  lp.decode_count = static_cast<size_t>(c.dim);
  lp.prefill_count =
      static_cast<size_t>(c.dim) * static_cast<size_t>(std::max(2, o.prefill_tokens));
  lp.seconds = o.link_seconds / static_cast<double>(std::max<size_t>(1, splits));
  return lp;
}

std::string transport_name(const RankDevices& d, bool mpi) {
  if (d.backend == BackendKind::Cuda)
    return d.shared_gpu ? "thread ranks on one GPU"
           : mpi        ? "NCCL between MPI processes"
                        : "NCCL between GPUs";
  return mpi ? "MPI" : "thread ranks (shared memory)";
}

// Every rank's value, in rank order (through backend memory, as the gather
// of the logits).
std::vector<float> values_of_ranks(Communicator& comm, Backend& be, float value) {
  const size_t n = static_cast<size_t>(comm.world_size());
  Buffer<float> part(be, 1), full(be, n);
  be.upload(part.data(), &value, sizeof value);
  const float* all = gather_from_tensor_parallel(comm, part.data(), 1, full.data());
  comm.settle();
  std::vector<float> host(n);
  be.download(host.data(), all, n * sizeof(float));
  be.synchronize();
  return host;
}

// About how long a host's read bandwidth takes to measure: the ranks that do
// not measure sleep this long before they meet the one that does, so that
// they do not spin in the barrier on the cores it measures with (namespace
// "hosts" are one machine).
constexpr auto kHostMeasureTime = std::chrono::milliseconds(500);

// Under mpirun: this process's rank of the world measures with the others.
MachineSpeed measure_mpi_world(const ModelConfig& c, const ProcessWorld& w,
                               const SpeedProbeOptions& o) {
  const RankDevices d = place_ranks(o.backend, w.size, o.gpus);
  MachineSpeed m;
  m.transport = transport_name(d, true);
  SplitSpeed split;
  launch_ranks(launch_options_for(d, w.size, o.timeout_seconds), [&](Communicator& comm) {
    const int device = d.device_of_rank.at(0);
    auto be = make_backend(o.backend, device, 1);
    comm.set_stream(be->native_stream());
    // Each host alone, one after the other: its first rank reads with every
    // core while the others wait (two hosts measured at once would share a
    // machine's memory when the "hosts" are namespaces of one machine).
    const std::vector<float> firsts = values_of_ranks(comm, *be, w.local_rank == 0 ? 1.f : 0.f);
    double host = 0;
    for (int r = 0; r < comm.world_size(); ++r) {
      if (firsts[static_cast<size_t>(r)] == 0) continue;
      if (r == comm.rank())
        host = device_read_bytes_per_s(o.backend, device);
      else
        std::this_thread::sleep_for(kHostMeasureTime);
      comm.control().barrier();
    }
    // cpu: the host's ranks share its memory; cuda: every rank has its GPU.
    // The slowest rank sets the pace.
    const float share =
        static_cast<float>(o.backend == BackendKind::Cpu ? host / w.local_size : host);
    double rank0_host = host;
    broadcast_from_rank0(comm.control(), rank0_host);
    m.host_read_bytes_per_s = rank0_host;
    double slowest = 0;
    for (float v : values_of_ranks(comm, *be, share))
      if (v > 0 && (slowest == 0 || v < slowest)) slowest = v;
    split.read_bytes_per_s = slowest;
    const LinkProbeOptions lp = link_probe_options(c, o, 1);
    Buffer<float> buffer(*be, lp.prefill_count);
    split.link = probe_link(comm, buffer.data(), lp);
  });
  if (w.size > 1) m.splits.emplace_back(w.size, split);
  return m;
}

}  // namespace

SplitSpeed MachineSpeed::for_tp(int tp) const {
  if (tp == 1) return {host_read_bytes_per_s, {}};
  const std::pair<int, SplitSpeed>* near = nullptr;
  for (const auto& s : splits)
    if (s.first <= tp) near = &s;
  if (near == nullptr) throw Error(fmt::format("no measurement of the link for tp {}", tp));
  SplitSpeed out = near->second;
  out.read_bytes_per_s *= static_cast<double>(near->first) / tp;  // more ranks share the hosts
  return out;
}

std::vector<int> measurable_tps(const std::vector<int>& wanted, BackendKind backend,
                                const std::vector<int>& gpus) {
  std::vector<int> out;
  const auto world = detect_mpi_launch();
  const int devices = backend == BackendKind::Cpu ? host_cores()
                      : gpus.empty()              ? backend_device_count(backend)
                                                  : static_cast<int>(gpus.size());
  for (int tp : wanted) {
    const bool ok = world ? (tp == 1 || tp == world->size) : tp <= std::max(1, devices);
    if (ok) out.push_back(tp);
  }
  return out;
}

MachineSpeed measure_machine_speed(const ModelConfig& c, const std::vector<int>& tps,
                                   const SpeedProbeOptions& o) {
  if (const auto world = detect_mpi_launch()) return measure_mpi_world(c, *world, o);
  MachineSpeed m;
  const int first_device = o.gpus.empty() ? 0 : o.gpus.front();
  m.host_read_bytes_per_s = device_read_bytes_per_s(o.backend, first_device);
  std::vector<int> splits;
  for (int tp : measurable_tps(tps, o.backend, o.gpus))
    if (tp > 1) splits.push_back(tp);
  std::sort(splits.begin(), splits.end());
  const LinkProbeOptions lp = link_probe_options(c, o, splits.size());
  for (int tp : splits) {
    const RankDevices d = place_ranks(o.backend, tp, o.gpus);
    m.transport = transport_name(d, false);
    LinkCost link;
    launch_ranks(launch_options_for(d, tp, o.timeout_seconds), [&](Communicator& comm) {
      auto be = make_backend(o.backend, d.device_of_rank.at(static_cast<size_t>(comm.rank())), 1);
      comm.set_stream(be->native_stream());
      Buffer<float> buffer(*be, lp.prefill_count);
      const LinkCost mine = probe_link(comm, buffer.data(), lp);
      if (comm.rank() == 0) link = mine;
    });
    // Thread ranks are on this host: cpu ranks share its memory, GPUs have their own.
    const bool shared = o.backend == BackendKind::Cpu || d.shared_gpu;
    m.splits.emplace_back(
        tp, SplitSpeed{shared ? m.host_read_bytes_per_s / tp : m.host_read_bytes_per_s, link});
  }
  if (m.transport.empty()) m.transport = "none (one rank)";
  return m;
}

}  // namespace tplm
