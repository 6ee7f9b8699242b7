#include "runtime/step_protocol.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "parallel/mappings.hpp"

namespace tplm {

namespace {

constexpr int kInlineIds = 8;

struct StepHeader {
  int32_t stop = 0;
  int32_t all_logits = 0;
  int64_t n_tokens = 0;
  int64_t pos0 = 0;
  int32_t inline_ids[kInlineIds] = {};
};

}  // namespace

void send_step(ControlChannel& control, std::span<const int32_t> ids, int64_t pos0,
               bool all_logits) {
  if (control.world_size() == 1) return;
  StepHeader h;
  h.all_logits = all_logits ? 1 : 0;
  h.n_tokens = static_cast<int64_t>(ids.size());
  h.pos0 = pos0;
  const bool inline_ids = ids.size() <= kInlineIds;
  if (inline_ids) std::copy(ids.begin(), ids.end(), h.inline_ids);
  broadcast_from_rank0(control, h);
  if (!inline_ids)
    control.broadcast(const_cast<int32_t*>(ids.data()), ids.size_bytes(), 0);  // read on rank 0
}

void send_stop(ControlChannel& control) {
  StepHeader h;
  h.stop = 1;
  broadcast_from_rank0(control, h);
}

std::optional<StepDescriptor> receive_step(ControlChannel& control) {
  StepHeader h;
  broadcast_from_rank0(control, h);
  if (h.stop) return std::nullopt;
  if (h.n_tokens < 1 || h.n_tokens > (int64_t{1} << 30))
    throw Error("a step descriptor from rank 0 has " + std::to_string(h.n_tokens) + " tokens");
  StepDescriptor d;
  d.pos0 = h.pos0;
  d.all_logits = h.all_logits != 0;
  d.ids.resize(static_cast<size_t>(h.n_tokens));
  if (h.n_tokens <= kInlineIds)
    std::copy(h.inline_ids, h.inline_ids + h.n_tokens, d.ids.begin());
  else
    control.broadcast(d.ids.data(), d.ids.size() * sizeof(int32_t), 0);
  return d;
}

}  // namespace tplm
