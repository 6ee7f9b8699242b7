#pragma once
// The descriptor of one step, sent by rank 0 on the control channel before it
// runs the step, so that every other rank runs the same one: the tokens, their
// first position and whether all positions' logits are wanted, or "stop".
// A decode step's token travels inside the fixed-size header (one broadcast);
// longer prompts follow it in a second broadcast. Nothing is sent at tp = 1.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "parallel/control_channel.hpp"

namespace tplm {

struct StepDescriptor {
  std::vector<int32_t> ids;
  int64_t pos0 = 0;
  bool all_logits = false;
};

// Rank 0: announce a step / the end of the run.
void send_step(ControlChannel& control, std::span<const int32_t> ids, int64_t pos0,
               bool all_logits);
void send_stop(ControlChannel& control);
// The other ranks: the next step, or nullopt when rank 0 has stopped.
std::optional<StepDescriptor> receive_step(ControlChannel& control);

}  // namespace tplm
