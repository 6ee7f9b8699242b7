#pragma once
// The descriptor of one step, sent by rank 0 on the control channel before it
// runs the step, so that every other rank runs the same one: the tokens, their
// first position and whether all positions' logits are wanted; or a batched
// step's rows (slot, position, token, logits wanted); or "stop". A decode
// step's token travels inside the fixed-size header (one broadcast); longer
// prompts and batches follow it in a second broadcast. Nothing is sent at
// tp = 1. A server that has nothing to run sends "idle" now and then, so that
// the ranks waiting for its next step (backing off, not spinning) do not take
// the silence for a dead rank 0.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "model/batch_rows.hpp"
#include "parallel/control_channel.hpp"

namespace tplm {

struct StepDescriptor {
  std::vector<int32_t> ids;
  int64_t pos0 = 0;
  bool all_logits = false;
  std::vector<BatchRow> rows;  // a batched step (ids empty)
};

// Rank 0: announce a step / a batched step / nothing to run yet / the end of the run.
void send_step(ControlChannel& control, std::span<const int32_t> ids, int64_t pos0,
               bool all_logits);
void send_rows(ControlChannel& control, std::span<const BatchRow> rows);
void send_idle(ControlChannel& control);
void send_stop(ControlChannel& control);
// The other ranks: the next step (idle announcements are skipped), or
// nullopt when rank 0 has stopped.
std::optional<StepDescriptor> receive_step(ControlChannel& control);

}  // namespace tplm
