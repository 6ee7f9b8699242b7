#pragma once
// Continuous batching on rank 0: requests wait in a bounded queue, join the
// running batch at a step boundary when a KV cache slot is free, and leave it
// when they end (or their client goes away); each step carries one decode row
// per running sequence and, in the token budget left, chunks of the prompts
// still being prefilled, so that a long prompt never stalls the streams.
//
//   Scheduler sched(limits);
//   engine.run([&](Steps& steps) { sched.run(steps); });    // rank 0's thread
//   auto s = sched.submit({prompt, options});                // any thread
//   while (!s.stream->done()) send(s.stream->next(100ms));
//   sched.stop();                                            // run() returns
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/generator.hpp"
#include "runtime/steps.hpp"

namespace tplm {

struct SchedulerLimits {
  int64_t slots = 1;          // sequences in the batch (KV cache slots in use)
  int64_t step_tokens = 256;  // rows of one step: decode rows + prefill chunks (>= slots)
  int64_t max_queue = 64;     // requests waiting for a slot; one more is refused
  double idle_seconds = 1.0;  // an idle rank 0 tells the other ranks it is alive this often
};

// One request: its prompt tokens and how to generate.
struct SequenceRequest {
  std::vector<int32_t> prompt;
  GenerateOptions options;
};

// The submitter's side of a request: its text as it comes, then its end.
class SequenceStream {
 public:
  // Waits up to `wait` for text or the end; returns the text made since the last call.
  std::string next(std::chrono::milliseconds wait);
  // Waits up to `wait` for the end only: a reader that wants the whole answer
  // is not woken for each token (16 such readers woken at every step took
  // the cores from the step's threads).
  bool wait_done(std::chrono::milliseconds wait);
  bool done() const;
  // After done(): the generation, or the error that ended it ("" when none).
  GenerateResult result() const;
  std::string error() const;
  // The client went away: the sequence leaves the batch at the next step.
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

  // The scheduler's side.
  void push_text(const std::string& text);
  void finish(GenerateResult result);
  void fail(const std::string& error);

 private:
  mutable std::mutex mu_;
  std::condition_variable text_cv_;  // new text or the end
  std::condition_variable done_cv_;  // the end
  std::string text_;
  bool done_ = false;
  GenerateResult result_;
  std::string error_;
  std::atomic<bool> cancelled_{false};
};

struct SchedulerStats {
  int64_t queue_length = 0;  // waiting for a slot
  int64_t running = 0;       // sequences in the batch
  uint64_t steps = 0;
  double step_seconds = 0;      // sum over steps
  double exchange_seconds = 0;  // of it, rank 0's time in collectives
  uint64_t prompt_tokens = 0;   // prefilled
  uint64_t generated_tokens = 0;
  uint64_t cancelled = 0;  // sequences whose client went away
};

class Scheduler {
 public:
  explicit Scheduler(const SchedulerLimits& limits);
  ~Scheduler();

  enum class Admission { Queued, QueueFull, NotRunning };
  struct Submitted {
    Admission admission = Admission::NotRunning;
    std::shared_ptr<SequenceStream> stream;  // when Queued
  };
  // Any thread. The prompt must fit the context (the caller checks it; one
  // that does not ends its stream with an error).
  Submitted submit(SequenceRequest request);

  // Rank 0's thread, inside Engine::run: runs steps until stop(). Requests
  // still running or queued then end with an error; an engine failure ends
  // them too and is rethrown.
  void run(Steps& steps);
  void stop();
  bool running() const;

  SchedulerStats stats() const;
  const SchedulerLimits& limits() const { return limits_; }

 private:
  struct Active;
  void admit(std::unique_lock<std::mutex>& lock);
  void step(Steps& steps);
  void end_all(const std::string& why);

  const SchedulerLimits limits_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<SequenceRequest, std::shared_ptr<SequenceStream>>> queue_;  // mu_
  bool running_ = false;                                                           // mu_
  bool stopping_ = false;                                                          // mu_
  SchedulerStats stats_;                                                           // mu_
  // The scheduler thread's own.
  std::vector<std::unique_ptr<Active>> active_;
  std::vector<int32_t> free_slots_;
  int64_t context_ = 0;
};

}  // namespace tplm
