#include "parallel/mappings.hpp"

namespace tplm {

void reduce_from_tensor_parallel(Communicator& comm, float* x, size_t count) {
  if (comm.world_size() == 1) return;
  comm.all_reduce_sum(x, count);
}

const float* gather_from_tensor_parallel(Communicator& comm, const float* part, size_t count,
                                         float* full) {
  if (comm.world_size() == 1) return part;
  comm.all_gather(part, count, full);
  return full;
}

}  // namespace tplm
