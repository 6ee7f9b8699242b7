#include "runtime/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "base/error.hpp"
#include "runtime/launcher.hpp"
#include "runtime/rank_model.hpp"
#include "runtime/run_options.hpp"
#include "runtime/serve_sizing.hpp"
#include "runtime/step_protocol.hpp"
#include "runtime/usage_error.hpp"

namespace tplm {

namespace {

// The options' own errors, before any file is opened.
const EngineOptions& validated(const EngineOptions& o) {
  check_engine_options(o);
  return o;
}

// Rank 0's side: announce each step, then run it here.
class LeadSteps final : public Steps {
 public:
  LeadSteps(RankModel& rm, Communicator& comm) : rm_(rm), comm_(comm) {}

  std::vector<float> forward(std::span<const int32_t> ids, int64_t pos0, bool all_logits) override {
    send_step(comm_.control(), ids, pos0, all_logits);
    return rm_.transformer->forward(ids, pos0, all_logits);
  }
  std::span<const float> forward_rows(std::span<const BatchRow> rows) override {
    send_rows(comm_.control(), rows);
    return rm_.transformer->forward_rows(rows);
  }
  void idle() override { send_idle(comm_.control()); }
  int64_t context() const override { return rm_.transformer->context(); }
  int64_t slots() const override { return rm_.transformer->slots(); }
  ExchangeStats exchanges() const override {
    return {comm_.bytes_sent(), comm_.seconds_in_collectives()};
  }

 private:
  RankModel& rm_;
  Communicator& comm_;
};

// Every weight's dtype must be one the backend computes: said before loading.
void check_dtypes(const ModelFile& m, BackendKind backend) {
  for (const TensorInfo& t : m.tensors)
    if (t.id.kind != TensorKind::Unknown && !backend_supports_dtype(backend, t.dtype))
      throw Error(fmt::format(
          "tensor {} is {}, which the {} backend does not compute yet; run it with --device cpu",
          t.name, dtype_name(t.dtype), backend_kind_name(backend)));
}

// Fault injection for the tests of invariant 5: TPLM_FAULT_STALL_RANK=r makes
// rank r stop answering once loaded, as a hung peer would: it waits, doing
// nothing, until the world is aborted (threads) or the process is ended (MPI).
bool stalls(int rank) {
  const char* v = std::getenv("TPLM_FAULT_STALL_RANK");
  return v != nullptr && *v != '\0' && std::atoi(v) == rank;
}

[[noreturn]] void stall(Communicator& comm) {
  while (!comm.aborted()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  throw CommError("rank " + std::to_string(comm.rank()) +
                  ": stopped answering on purpose (TPLM_FAULT_STALL_RANK)");
}

// The other ranks: run rank 0's steps until it stops.
void follow(RankModel& rm, Communicator& comm) {
  while (auto step = receive_step(comm.control())) {
    if (!step->rows.empty())
      rm.transformer->forward_rows(step->rows);
    else
      rm.transformer->forward(step->ids, step->pos0, step->all_logits);
  }
}

// --split auto: ratios in proportion to each rank's device memory. Thread
// ranks on one host (cpu) have one budget: equal shares. GPUs: their free
// memory, each shared by the ranks on it (under mpirun a process sees only its
// own GPU: equal shares).
std::vector<double> auto_split(const RankDevices& d, int world) {
  if (d.backend == BackendKind::Cpu || static_cast<int>(d.device_of_rank.size()) != world)
    return {};
  std::vector<double> ratios;
  for (int g : d.device_of_rank) {
    const auto sharing = std::count(d.device_of_rank.begin(), d.device_of_rank.end(), g);
    ratios.push_back(static_cast<double>(backend_device_info(d.backend, g).free_bytes) /
                     static_cast<double>(sharing));
  }
  if (std::any_of(ratios.begin(), ratios.end(), [](double r) { return !(r > 0); })) return {};
  return ratios;
}

}  // namespace

void check_engine_options(const EngineOptions& o) {
  if (o.tp < 1 || o.tp > kMaxTp)
    throw UsageError(fmt::format("--tp {} is out of range; use 1 to {}", o.tp, kMaxTp));
  if (o.threads < 0 || o.threads > kMaxThreads)
    throw UsageError(
        fmt::format("--threads {} is out of range; use 1 to {} (or leave it out for cores / ranks)",
                    o.threads, kMaxThreads));
  if (o.slots < 1 || o.slots > 4096)
    throw UsageError(fmt::format("--slots {} is out of range; use 1 to 4096", o.slots));
  if (o.max_context < 0)
    throw UsageError(fmt::format("a context of {} positions is not possible", o.max_context));
  if (o.kv_type && !backend_supports_kv_type(o.backend, *o.kv_type))
    throw UsageError(fmt::format(
        "--kv-type {}: the {} backend keeps its KV cache in f32 only; use --kv-type f32 (or "
        "leave it out) with --device {}, or run on --device cpu",
        kv_type_name(*o.kv_type), backend_kind_name(o.backend), backend_kind_name(o.backend)));
  for (double r : o.split)
    if (!(r > 0) || !std::isfinite(r))
      throw UsageError(fmt::format("--split: ratio {} is not a number above 0", r));
  if (!(o.timeout_seconds > 0) || !std::isfinite(o.timeout_seconds))
    throw UsageError(fmt::format("--comm-timeout {} is out of range; use a number of seconds > 0",
                                 o.timeout_seconds));
}

ModelFile open_engine_model(const std::string& path) {
  if (path.empty())
    throw UsageError(
        "no model given; pass -m MODEL (a .gguf, a llama2.c .bin or a Hugging Face folder)");
  ModelFile m = open_model(path);
  check_tensors(m);
  return m;
}

Engine::Engine(const EngineOptions& options)
    : Engine(open_engine_model(validated(options).model), options) {}

Engine::Engine(ModelFile model, const EngineOptions& options)
    : options_(validated(options)), model_(std::move(model)) {
  const int world = launch_world_size(options_.tp);
  leads_ = launch_rank() == 0;
  threads_ = ::tplm::threads_per_rank(options_.threads, world);
  devices_ = place_ranks(options_.backend, world, options_.gpus);
  check_dtypes(model_, options_.backend);
  PlanLimits limits;
  if (options_.backend == BackendKind::Cpu)
    limits.cores = host_cores() * world / ranks_on_this_host(world);  // warns past one rank a core
  context_ = effective_context(options_.max_context, model_.config.context_length);
  const PlanRequest request{options_.split_auto ? auto_split(devices_, world) : options_.split,
                            context_, effective_kv_type(options_.kv_type, options_.backend)};
  plan_ = make_plan(model_, world, limits, request);
  const MemoryBudget budget = memory_budget(options_, devices_, world);
  capacity_ = plan_capacity(model_, plan_, budget);
  if (auto refusal = capacity_refusal(model_, plan_, budget)) throw Error(*refusal);
}

int64_t effective_context(int64_t asked, int64_t model_context) {
  return asked > 0 ? asked : std::min(model_context, kDefaultContext);
}

KvType effective_kv_type(const std::optional<KvType>& asked, BackendKind backend) {
  if (asked) return *asked;
  return backend == BackendKind::Cpu ? KvType::F16 : KvType::F32;
}

MemoryBudget memory_budget(const EngineOptions& o, const RankDevices& d, int world) {
  MemoryBudget b;
  b.backend = o.backend;
  if (o.backend == BackendKind::Cpu) {
    b.ranks_per_device = ranks_on_this_host(world);
    b.per_device = host_available_memory();
    b.source = "MemAvailable";
  } else {
    // The GPU with the least free memory, shared by the ranks placed on it.
    for (int g : d.device_of_rank) {
      b.ranks_per_device = std::max(
          b.ranks_per_device,
          static_cast<int>(std::count(d.device_of_rank.begin(), d.device_of_rank.end(), g)));
      const uint64_t free = backend_device_info(o.backend, g).free_bytes;
      if (b.per_device == 0 || free < b.per_device) b.per_device = free;
    }
    b.source = "free memory of the GPU";
  }
  if (o.mem_budget > 0) {
    b.per_device = o.mem_budget;
    b.source = "--mem-budget";
  }
  return b;
}

void Engine::run(const std::function<void(Steps&)>& lead) {
  ranks_.assign(static_cast<size_t>(plan_.tp), RankReport{});
  load_seconds_ = 0;
  std::mutex mu;
  LaunchOptions launch = launch_options_for(devices_, options_.tp, options_.timeout_seconds);
  launch.communicator_at_tp1 = options_.communicator_at_tp1;
  launch_ranks(launch, [&](Communicator& comm) {
    const auto& devs = devices_.device_of_rank;
    const int device = devs.size() == 1 ? devs[0] : devs[static_cast<size_t>(comm.rank())];
    const RankModelOptions ro{
        options_.backend,      device, threads_, context_, options_.slots, plan_.kv_type,
        options_.show_progress};
    RankModel rm = make_rank_model(model_, plan_, comm, ro);
    comm.control().barrier();  // every shard is loaded: what follows is generation only
    {
      std::lock_guard lock(mu);
      RankReport& r = ranks_[static_cast<size_t>(comm.rank())];
      r.weight_bytes = rm.shard->weight_bytes;
      r.plan_weight_bytes = plan_.ranks[static_cast<size_t>(comm.rank())].weight_bytes;
      r.kv_cache_bytes = rm.cache->bytes();
      r.plan_kv_cache_bytes = plan_.ranks[static_cast<size_t>(comm.rank())].kv_cache_bytes;
      load_seconds_ = std::max(load_seconds_, rm.load_seconds);
    }
    if (comm.rank() != 0) {
      if (stalls(comm.rank())) stall(comm);
      follow(rm, comm);
      return;
    }
    LeadSteps steps(rm, comm);
    lead(steps);
    send_stop(comm.control());
  });
}

}  // namespace tplm
