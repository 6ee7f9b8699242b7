#pragma once
// One row of a batched step: a token of one sequence. A step's rows may come
// from many sequences (KV cache slots); the rows of one slot are consecutive
// and at consecutive positions (a segment: a prefill chunk, or one decode
// token). Four int32s, so that a step's rows travel as one plain array.
#include <cstdint>

namespace tplm {

struct BatchRow {
  int32_t slot = 0;    // the sequence's KV cache slot
  int32_t pos = 0;     // the token's position in its sequence
  int32_t token = 0;   // the token id
  int32_t logits = 0;  // 1: this row's logits are wanted
};

}  // namespace tplm
