#pragma once
// Megatron-style mappings: every exchange the model and the engine make goes
// through one of these named helpers, and each does nothing at tp = 1 (no
// copy, no call).
//
//   reduce_from_tensor_parallel: after a row-parallel layer, each rank holds a
//     partial sum y_r = a_r · W[rows_r, :]; the layer's output is sum_r y_r.
//   gather_from_tensor_parallel: after a column-parallel layer whose output is
//     needed whole (the vocab-parallel LM head), rank r holds columns
//     [r * count, (r + 1) * count); the output is their concatenation in rank order.
//   broadcast_from_rank0: what rank 0 decided (host memory), on every rank.
#include <cstddef>
#include <type_traits>

#include "parallel/communicator.hpp"

namespace tplm {

// x (count floats, backend memory) <- sum over ranks of x.
void reduce_from_tensor_parallel(Communicator& comm, float* x, size_t count);

// The concatenation over ranks of part (count floats each, backend memory).
// Returns full (world_size * count floats), or part itself at tp = 1.
const float* gather_from_tensor_parallel(Communicator& comm, const float* part, size_t count,
                                         float* full);

// value <- rank 0's value, on every rank (host memory).
template <class T>
void broadcast_from_rank0(ControlChannel& control, T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (control.world_size() > 1) control.broadcast(&value, sizeof(T), 0);
}

}  // namespace tplm
