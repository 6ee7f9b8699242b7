#pragma once
// Everything one rank holds to run the model: its backend, its shard of the
// weights, its KV cache and the forward pass over them.
#include <memory>

#include "backend/backend.hpp"
#include "format/model_file.hpp"
#include "model/kv_cache.hpp"
#include "model/transformer.hpp"
#include "parallel/plan.hpp"
#include "runtime/shard_loader.hpp"

namespace tplm {

struct RankModelOptions {
  BackendKind backend = BackendKind::Cpu;
  int device = 0;              // the GPU of this rank (cuda)
  int threads = 1;             // kernel threads of this rank
  int64_t max_context = 0;     // positions of the KV cache (0: the model's context length)
  int64_t slots = 1;           // sequences of the KV cache
  bool show_progress = false;  // a loading progress line on stderr (rank 0 only)
};

struct RankModel {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<LoadedShard> shard;
  std::unique_ptr<KvCache> cache;
  std::unique_ptr<Transformer> transformer;
  double load_seconds = 0;
};

// Builds the rank's model; the model file, plan and communicator must outlive it.
RankModel make_rank_model(const ModelFile& model, const Plan& plan, Communicator& comm,
                          const RankModelOptions& options);

}  // namespace tplm
