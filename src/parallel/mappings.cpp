#include "parallel/mappings.hpp"

#include <algorithm>

namespace tplm {

void reduce_from_tensor_parallel(Communicator& comm, float* x, size_t count) {
  if (comm.world_size() == 1) return;
  comm.all_reduce_sum(x, count);
}

void gather_from_tensor_parallel(Communicator& comm, const float* part,
                                 std::span<const size_t> counts, float* full) {
  if (comm.world_size() == 1) {
    if (part != full) std::copy(part, part + counts[0], full);
    return;
  }
  comm.all_gather(part, counts, full);
}

}  // namespace tplm
