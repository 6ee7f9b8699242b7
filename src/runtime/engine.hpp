#pragma once
// The engine under every command (run, bench, and the server to come): it
// opens the model, plans the split (every error before anything is loaded),
// starts the ranks, loads each rank's shard, and then lets rank 0 drive steps
// that every rank runs.
//
//   Engine engine(options);            // open + check + plan; nothing loaded
//   engine.run([&](Steps& steps) {     // rank 0 only; the others follow its steps
//     auto logits = steps.forward(ids, 0, false);
//   });
//
// Ranks are threads of this process (tp > 1), or this process's one rank
// under mpirun; there run() returns on the other processes once rank 0 is done.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "format/model_file.hpp"
#include "parallel/plan.hpp"
#include "runtime/rank_devices.hpp"
#include "runtime/steps.hpp"

namespace tplm {

struct EngineOptions {
  std::string model;  // file or folder (the path constructor opens it)
  int tp = 1;
  int threads = 0;  // kernel threads per rank; 0 = cores / ranks on this host
  // KV cache positions; 0 = the model's context length; more is an Error.
  int64_t max_context = 0;
  // Sequences the KV caches hold (a server's concurrent requests), each of
  // the full context; a single run needs 1.
  int64_t slots = 1;
  double timeout_seconds = 60.0;
  bool show_progress = true;
  BackendKind backend = BackendKind::Cpu;
  std::vector<int> gpus;             // --gpus (cuda): empty = every visible GPU
  bool communicator_at_tp1 = false;  // tests: the backend's communicator even at tp 1
};

// Throws UsageError for options that no model takes (tp outside 1..kMaxTp,
// threads outside 0..kMaxThreads, a negative context, a timeout <= 0).
void check_engine_options(const EngineOptions& options);

// The model file or folder as the engine reads it: opened and its tensors
// checked against the tensor contract. Open it first to check options
// against the model (its context, its vocabulary) before the Engine plans.
ModelFile open_engine_model(const std::string& path);

struct RankReport {
  uint64_t weight_bytes = 0;       // loaded
  uint64_t plan_weight_bytes = 0;  // the plan's figure
  uint64_t kv_cache_bytes = 0;
};

class Engine {
 public:
  explicit Engine(const EngineOptions& options);  // opens options.model
  Engine(ModelFile model, const EngineOptions& options);

  const ModelFile& model() const { return model_; }
  const Plan& plan() const { return plan_; }
  int world_size() const { return plan_.tp; }
  int threads_per_rank() const { return threads_; }
  int64_t context() const { return context_; }
  // Whether this process holds rank 0 (false on the other processes under mpirun).
  bool leads() const { return leads_; }
  const RankDevices& devices() const { return devices_; }

  // Loads every rank's shard, then calls lead on rank 0 while the other ranks
  // follow its steps; returns when lead has returned and every rank has
  // unloaded. A rank that fails ends every rank, and its error is rethrown.
  void run(const std::function<void(Steps&)>& lead);

  // After run(): every rank of this process (threads: all of them).
  const std::vector<RankReport>& ranks() const { return ranks_; }
  double load_seconds() const { return load_seconds_; }

 private:
  EngineOptions options_;
  ModelFile model_;
  Plan plan_;
  int threads_ = 1;
  int64_t context_ = 0;
  bool leads_ = true;
  RankDevices devices_;
  std::vector<RankReport> ranks_;
  double load_seconds_ = 0;
};

}  // namespace tplm
