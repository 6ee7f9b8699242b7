#include "runtime/step_protocol.hpp"

#include <algorithm>
#include <cstring>

#include "base/error.hpp"
#include "parallel/mappings.hpp"

namespace tplm {

namespace {

constexpr int kInlineIds = 8;

enum class StepKind : int32_t { Tokens = 0, Stop = 1, Rows = 2, Idle = 3 };

struct StepHeader {
  StepKind kind = StepKind::Tokens;
  int32_t all_logits = 0;
  int64_t n_tokens = 0;  // tokens, or rows of a batched step
  int64_t pos0 = 0;
  int32_t inline_ids[kInlineIds] = {};
};

// A batched step's rows fit the header's inline ids when there are few.
constexpr int64_t kInlineRows = kInlineIds * sizeof(int32_t) / sizeof(BatchRow);
static_assert(sizeof(BatchRow) == 4 * sizeof(int32_t));

void send_kind(ControlChannel& control, StepKind kind) {
  if (control.world_size() == 1) return;
  StepHeader h;
  h.kind = kind;
  broadcast_from_rank0(control, h);
}

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

void send_rows(ControlChannel& control, std::span<const BatchRow> rows) {
  if (control.world_size() == 1) return;
  StepHeader h;
  h.kind = StepKind::Rows;
  h.n_tokens = static_cast<int64_t>(rows.size());
  const bool inline_rows = h.n_tokens <= kInlineRows;
  if (inline_rows) std::memcpy(h.inline_ids, rows.data(), rows.size_bytes());
  broadcast_from_rank0(control, h);
  if (!inline_rows)
    control.broadcast(const_cast<BatchRow*>(rows.data()), rows.size_bytes(), 0);  // read on rank 0
}

void send_idle(ControlChannel& control) {
  send_kind(control, StepKind::Idle);
}

void send_stop(ControlChannel& control) {
  send_kind(control, StepKind::Stop);
}

std::optional<StepDescriptor> receive_step(ControlChannel& control) {
  StepHeader h;
  do {
    control.broadcast_waiting(&h, sizeof h, 0);
  } while (h.kind == StepKind::Idle);
  if (h.kind == StepKind::Stop) return std::nullopt;
  if (h.n_tokens < 1 || h.n_tokens > (int64_t{1} << 30) ||
      (h.kind != StepKind::Tokens && h.kind != StepKind::Rows))
    throw Error("a step descriptor from rank 0 has " + std::to_string(h.n_tokens) +
                " tokens or an unknown kind");
  StepDescriptor d;
  const auto n = static_cast<size_t>(h.n_tokens);
  if (h.kind == StepKind::Rows) {
    d.rows.resize(n);
    if (h.n_tokens <= kInlineRows)
      std::memcpy(d.rows.data(), h.inline_ids, n * sizeof(BatchRow));
    else
      control.broadcast(d.rows.data(), n * sizeof(BatchRow), 0);
    return d;
  }
  d.pos0 = h.pos0;
  d.all_logits = h.all_logits != 0;
  d.ids.resize(n);
  if (h.n_tokens <= kInlineIds)
    std::copy(h.inline_ids, h.inline_ids + h.n_tokens, d.ids.begin());
  else
    control.broadcast(d.ids.data(), n * sizeof(int32_t), 0);
  return d;
}

}  // namespace tplm
