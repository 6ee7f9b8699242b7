#include "runtime/scheduler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "base/error.hpp"

namespace tplm {

// ---- SequenceStream

std::string SequenceStream::next(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  text_cv_.wait_for(lock, wait, [&] { return !text_.empty() || done_; });
  return std::exchange(text_, {});
}

bool SequenceStream::wait_done(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  return done_cv_.wait_for(lock, wait, [&] { return done_; });
}

bool SequenceStream::done() const {
  std::lock_guard lock(mu_);
  return done_ && text_.empty();
}

GenerateResult SequenceStream::result() const {
  std::lock_guard lock(mu_);
  return result_;
}

std::string SequenceStream::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

void SequenceStream::push_text(const std::string& text) {
  {
    std::lock_guard lock(mu_);
    text_ += text;
  }
  text_cv_.notify_all();
}

void SequenceStream::finish(GenerateResult result) {
  {
    std::lock_guard lock(mu_);
    result_ = std::move(result);
    done_ = true;
  }
  text_cv_.notify_all();
  done_cv_.notify_all();
}

void SequenceStream::fail(const std::string& error) {
  {
    std::lock_guard lock(mu_);
    error_ = error;
    done_ = true;
  }
  text_cv_.notify_all();
  done_cv_.notify_all();
}

// ---- Scheduler

// A sequence in the batch: its slot, how much of its prompt is in the cache,
// and its generation once the prompt's last position has given logits.
struct Scheduler::Active {
  std::shared_ptr<SequenceStream> stream;
  std::vector<int32_t> prompt;
  int32_t slot = 0;
  size_t fed = 0;  // prompt tokens in the cache
  std::unique_ptr<Generation> gen;
};

Scheduler::Scheduler(const SchedulerLimits& limits) : limits_(limits) {
  if (limits_.slots < 1 || limits_.step_tokens < limits_.slots || limits_.max_queue < 0)
    throw Error(
        fmt::format("scheduler: {} slots with a step budget of {} tokens and a queue of {}: "
                    "it needs at least one slot and a token per slot",
                    limits_.slots, limits_.step_tokens, limits_.max_queue));
}

Scheduler::~Scheduler() = default;

Scheduler::Submitted Scheduler::submit(SequenceRequest request) {
  std::lock_guard lock(mu_);
  if (!running_ || stopping_) return {Admission::NotRunning, nullptr};
  // Waiting requests beyond the free slots are the queue.
  const auto free = static_cast<int64_t>(free_slots_.size());
  if (static_cast<int64_t>(queue_.size()) >= limits_.max_queue + free)
    return {Admission::QueueFull, nullptr};
  auto stream = std::make_shared<SequenceStream>();
  queue_.emplace_back(std::move(request), stream);
  stats_.queue_length = static_cast<int64_t>(queue_.size());
  cv_.notify_all();
  return {Admission::Queued, stream};
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

bool Scheduler::running() const {
  std::lock_guard lock(mu_);
  return running_ && !stopping_;
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

// At a step boundary: queued requests take the free slots, first come first served.
void Scheduler::admit(std::unique_lock<std::mutex>& /*held*/) {
  while (!free_slots_.empty() && !queue_.empty()) {
    auto [request, stream] = std::move(queue_.front());
    queue_.pop_front();
    if (stream->cancelled()) {
      stream->fail("cancelled");
      ++stats_.cancelled;
      continue;
    }
    auto a = std::make_unique<Active>();
    a->stream = stream;
    a->slot = free_slots_.back();
    a->prompt = std::move(request.prompt);
    try {
      if (a->prompt.empty()) throw Error("the prompt has no tokens");
      a->gen = std::make_unique<Generation>(
          a->prompt.size(), a->prompt.back(), context_, request.options,
          [this](int32_t) { ++stats_.generated_tokens; },
          [s = stream.get()](const std::string& text) { s->push_text(text); });
    } catch (const Error& e) {
      stream->fail(e.what());
      continue;
    }
    free_slots_.pop_back();
    active_.push_back(std::move(a));
  }
  stats_.queue_length = static_cast<int64_t>(queue_.size());
  stats_.running = static_cast<int64_t>(active_.size());
}

void Scheduler::run(Steps& steps) {
  {
    std::lock_guard lock(mu_);
    context_ = steps.context();
    const int64_t slots = std::min<int64_t>(limits_.slots, steps.slots());
    free_slots_.clear();
    for (int64_t s = slots - 1; s >= 0; --s) free_slots_.push_back(static_cast<int32_t>(s));
    running_ = true;
  }
  const auto idle = std::chrono::duration<double>(limits_.idle_seconds);
  try {
    while (true) {
      {
        std::unique_lock lock(mu_);
        if (stopping_) break;
        admit(lock);
        if (active_.empty()) {
          // Nothing to run: wait for a request, and say so to the other ranks
          // before their wait for the next step times out.
          if (!cv_.wait_for(lock, idle, [&] { return stopping_ || !queue_.empty(); })) {
            lock.unlock();
            steps.idle();
          }
          continue;
        }
      }
      step(steps);
    }
  } catch (const std::exception& e) {
    end_all(std::string("the engine failed: ") + e.what());
    throw;
  }
  end_all("the server is shutting down");
}

// One step: a decode row per sequence that has its next token, then prompt
// chunks in the budget left; then each row that asked for logits gives its
// sequence its next token.
void Scheduler::step(Steps& steps) {
  // Sequences whose client went away leave now (free_slots_ is read by submit).
  {
    std::lock_guard lock(mu_);
    for (auto& a : active_)
      if (a->stream->cancelled()) {
        a->stream->fail("cancelled");
        free_slots_.push_back(a->slot);
        a.reset();
        ++stats_.cancelled;
      }
    std::erase(active_, nullptr);
    stats_.running = static_cast<int64_t>(active_.size());
  }
  std::vector<BatchRow> rows;
  std::vector<Active*> wanting;  // per row that wants logits, in row order
  for (auto& a : active_)
    if (a->fed == a->prompt.size()) {
      rows.push_back({a->slot, static_cast<int32_t>(a->gen->next_pos()), a->gen->next_token(), 1});
      wanting.push_back(a.get());
    }
  uint64_t prefilled = 0;
  for (auto& a : active_) {
    const auto budget = static_cast<size_t>(limits_.step_tokens) - rows.size();
    if (a->fed == a->prompt.size() || budget == 0) continue;
    const size_t n = std::min(budget, a->prompt.size() - a->fed);
    for (size_t i = a->fed; i < a->fed + n; ++i) {
      const bool last = i + 1 == a->prompt.size();
      rows.push_back({a->slot, static_cast<int32_t>(i), a->prompt[i], last ? 1 : 0});
      if (last) wanting.push_back(a.get());
    }
    a->fed += n;
    prefilled += n;
  }
  if (rows.empty()) return;

  const double exchanged0 = steps.exchanges().seconds;
  const auto t0 = std::chrono::steady_clock::now();
  const std::span<const float> logits = steps.forward_rows(rows);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double exchanged = steps.exchanges().seconds - exchanged0;

  const size_t vocab = wanting.empty() ? 0 : logits.size() / wanting.size();
  std::unique_lock lock(mu_);  // the on_token counter writes stats_
  for (size_t i = 0; i < wanting.size(); ++i) {
    Active& a = *wanting[i];
    if (!a.gen->take(std::span<const float>(logits.data() + i * vocab, vocab))) continue;
    a.stream->finish(std::move(a.gen->result()));
    free_slots_.push_back(a.slot);
    for (auto& p : active_)
      if (p.get() == &a) p.reset();
  }
  std::erase(active_, nullptr);
  ++stats_.steps;
  stats_.step_seconds += seconds;
  stats_.exchange_seconds += exchanged;
  stats_.prompt_tokens += prefilled;
  stats_.running = static_cast<int64_t>(active_.size());
}

void Scheduler::end_all(const std::string& why) {
  std::lock_guard lock(mu_);
  for (auto& a : active_) a->stream->fail(why);
  active_.clear();
  for (auto& q : queue_) q.second->fail(why);
  queue_.clear();
  running_ = false;
  stopping_ = true;
  stats_.queue_length = 0;
  stats_.running = 0;
}

}  // namespace tplm
