#pragma once
// Loads one rank's shard: exactly the TensorSlices of its RankPlan, read with
// pread (only this rank's bytes) into backend memory. The loader decides
// nothing about splits; the plan did. Q/K rows stored rotate-half (Hugging
// Face) are put in the interleaved order the kernels use; 1-D tensors (norms,
// biases) are converted to float32.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "backend/backend.hpp"
#include "format/model_file.hpp"
#include "model/layer_weights.hpp"
#include "parallel/plan.hpp"

namespace tplm {

class LoadedShard {
 public:
  explicit LoadedShard(Backend& backend) : backend_(backend) {}
  ~LoadedShard();
  LoadedShard(const LoadedShard&) = delete;
  LoadedShard& operator=(const LoadedShard&) = delete;

  ShardWeights weights;
  ShardShape shape;
  uint64_t weight_bytes = 0;  // bytes of backend memory this rank holds for weights
  uint64_t bytes_read = 0;    // bytes read from the model file(s)

  void* own(size_t bytes);  // backend memory released with the shard
  Backend& backend() { return backend_; }

 private:
  Backend& backend_;
  std::vector<void*> buffers_;
};

// progress(done_bytes, total_bytes) is called after each tensor (may be empty).
using LoadProgress = std::function<void(uint64_t, uint64_t)>;

std::unique_ptr<LoadedShard> load_shard(const ModelFile& model, const Plan& plan, int rank,
                                        Backend& backend, const LoadProgress& progress = {});

}  // namespace tplm
