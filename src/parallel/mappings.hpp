#pragma once
// Megatron-style mappings: every exchange the model makes goes through one of
// these named helpers, and each does nothing at tp = 1 (no copy, no call).
//
//   reduce_from_tensor_parallel: after a row-parallel layer, each rank holds a
//     partial sum y_r = a_r · W[rows_r, :]; the layer's output is sum_r y_r.
//   gather_from_tensor_parallel: after a column-parallel layer whose output is
//     needed whole (the vocab-parallel LM head), rank r holds columns
//     [begin_r, end_r); the output is their concatenation in rank order.
#include <cstddef>
#include <span>

#include "parallel/communicator.hpp"

namespace tplm {

// x (count floats) <- sum over ranks of x.
void reduce_from_tensor_parallel(Communicator& comm, float* x, size_t count);

// full <- concatenation over ranks of part (counts[r] floats from rank r).
// At tp = 1 copies part into full only when they are different buffers.
void gather_from_tensor_parallel(Communicator& comm, const float* part,
                                 std::span<const size_t> counts, float* full);

}  // namespace tplm
