#pragma once
// What rank 0 drives: each call runs one step of the model on every rank (the
// other ranks follow the step's descriptor; runtime/step_protocol.hpp).
#include <cstdint>
#include <span>
#include <vector>

#include "model/batch_rows.hpp"

namespace tplm {

struct ExchangeStats {
  uint64_t bytes_sent = 0;  // by rank 0, in collectives
  double seconds = 0;       // rank 0's time inside collectives
};

class Steps {
 public:
  virtual ~Steps() = default;
  // Feeds ids at positions pos0 .. pos0 + T - 1 (T = ids.size() >= 1) and
  // returns the logits on the host: [T, vocab] when all_logits, else the last
  // position's [vocab].
  virtual std::vector<float> forward(std::span<const int32_t> ids, int64_t pos0,
                                     bool all_logits) = 0;
  // A batched step over many sequences (Transformer::forward_rows): the
  // logits of the rows that ask for them, in row order, [n, vocab], valid
  // until the next step.
  virtual std::span<const float> forward_rows(std::span<const BatchRow> rows) = 0;
  // Tells the other ranks that nothing runs yet (a server between requests),
  // before their wait for the next step reaches the timeout.
  virtual void idle() = 0;
  virtual int64_t context() const = 0;  // positions per sequence the KV caches hold
  virtual int64_t slots() const = 0;    // sequences the KV caches hold
  virtual ExchangeStats exchanges() const = 0;
};

}  // namespace tplm
