#include "runtime/rank_devices.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "base/error.hpp"
#include "parallel/process_world.hpp"
#include "parallel/thread_communicator.hpp"
#if defined(TPLM_HAVE_CUDA)
#include "parallel/cuda/device_communicators.hpp"
#endif

namespace tplm {

namespace {

std::vector<int> usable_gpus(const std::vector<int>& gpus) {
  const int count = backend_device_count(BackendKind::Cuda);
  if (!backend_built(BackendKind::Cuda))
    throw Error(
        "this tplm was built without CUDA; rebuild with cmake -DTPLM_CUDA=ON (needs the CUDA "
        "toolkit and NCCL) or run with --device cpu");
  if (count == 0)
    throw Error(
        "--device cuda: no CUDA GPU is visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)"
        "; run with --device cpu");
  if (gpus.empty()) {
    std::vector<int> all;
    for (int g = 0; g < count; ++g) all.push_back(g);
    return all;
  }
  std::set<int> seen;
  for (int g : gpus) {
    if (g < 0 || g >= count)
      throw Error(fmt::format("--gpus: GPU {} does not exist; this machine shows GPUs 0 to {}", g,
                              count - 1));
    if (!seen.insert(g).second) throw Error(fmt::format("--gpus: GPU {} is given twice", g));
  }
  return gpus;
}

}  // namespace

RankDevices place_ranks(BackendKind backend, int world, const std::vector<int>& gpus) {
  RankDevices d;
  d.backend = backend;
  const auto mpi = detect_mpi_launch();
  if (backend == BackendKind::Cpu) {
    if (!gpus.empty()) throw Error("--gpus needs --device cuda");
    d.device_of_rank.assign(mpi ? 1 : static_cast<size_t>(world), 0);
    return d;
  }
  const std::vector<int> g = usable_gpus(gpus);
  if (mpi) {
    if (mpi->local_size > static_cast<int>(g.size()))
      throw Error(fmt::format(
          "mpirun placed {} ranks on this host but it has {} GPU{} for them: NCCL cannot put two "
          "ranks on one GPU; start at most {} rank{} per host",
          mpi->local_size, g.size(), g.size() == 1 ? "" : "s", g.size(), g.size() == 1 ? "" : "s"));
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    const int local_rank = local ? std::atoi(local) : mpi->rank % mpi->local_size;
    d.device_of_rank = {g[static_cast<size_t>(local_rank)]};
    d.device_count = world;
    return d;
  }
  if (world == 1 || static_cast<int>(g.size()) >= world) {
    d.device_of_rank.assign(g.begin(), g.begin() + world);
    d.device_count = static_cast<int>(g.size());
    return d;
  }
  if (g.size() == 1) {
    d.device_of_rank.assign(static_cast<size_t>(world), g[0]);
    d.shared_gpu = true;
    d.device_count = world;  // the ranks share one GPU's memory: the plan checks it per rank
    d.note = fmt::format(
        "tp {} on one GPU: the {} ranks share GPU {} and exchange through its memory (this tests "
        "the split on GPU kernels; it is not faster than tp 1)",
        world, world, g[0]);
    return d;
  }
  throw Error(fmt::format(
      "tp {} needs {} GPUs (one per rank) or exactly one GPU shared by all ranks, but {} are "
      "given; use --tp {} or --gpus with one GPU",
      world, world, g.size(), g.size()));
}

LaunchOptions launch_options_for(const RankDevices& d, int tp, double timeout_seconds) {
  LaunchOptions o(tp, timeout_seconds);
  if (d.backend != BackendKind::Cuda) return o;
#if defined(TPLM_HAVE_CUDA)
  if (d.shared_gpu)
    o.make_thread_comms = [](int n, double timeout) {
      return make_thread_communicators(n, timeout, make_device_peer_memory);
    };
  else
    o.make_thread_comms = make_nccl_thread_communicators;
  o.make_process_comm = make_nccl_mpi_communicator;
#endif
  return o;
}

}  // namespace tplm
