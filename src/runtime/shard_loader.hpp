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
  ShardWeights weights;
  ShardShape shape;
  uint64_t weight_bytes = 0;  // bytes of backend memory this rank holds for weights
  uint64_t bytes_read = 0;    // bytes read from the model file(s)

  // Backend memory released with the shard.
  void* own(Backend& backend, size_t bytes) {
    buffers_.emplace_back(backend, bytes);
    return buffers_.back().data();
  }

 private:
  std::vector<Buffer<uint8_t>> buffers_;
};

// progress(done_bytes, total_bytes) is called after each tensor (may be empty).
using LoadProgress = std::function<void(uint64_t, uint64_t)>;

// Rank rank's share of the model's dimensions, as the forward pass sees it.
ShardShape shard_shape(const Plan& plan, int rank);

std::unique_ptr<LoadedShard> load_shard(const ModelFile& model, const Plan& plan, int rank,
                                        Backend& backend, const LoadProgress& progress = {});

}  // namespace tplm
