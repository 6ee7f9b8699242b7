// Continuous batching (runtime/scheduler.hpp) on a real engine: requests that
// join and leave a running batch, with prompts prefilled in chunks between
// decode steps, each get the tokens they get alone (greedy, and sampled with
// a seed); a cancelled request frees its slot; a full queue refuses.
#include "runtime/scheduler.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "runtime_test_support.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

using namespace std::chrono_literals;

std::optional<test::Fixture> stories_fixture() {
  for (const test::Fixture& f : test::read_manifest())
    if (f.name == "stories260K.gguf") return f;
  return std::nullopt;
}

std::vector<SequenceRequest> some_requests(int64_t vocab) {
  std::vector<SequenceRequest> out;
  for (int i = 0; i < 7; ++i) {
    SequenceRequest r;
    r.prompt.push_back(1);
    for (int t = 1; t < 3 + 5 * i; ++t)
      r.prompt.push_back(static_cast<int32_t>((t * 31 + i * 7 + 5) % vocab));
    r.options.max_new_tokens = 6 + 3 * i;
    if (i % 3 == 2) r.options.sampling = {0.9f, 40, 0.95f, static_cast<uint64_t>(100 + i)};
    out.push_back(r);
  }
  return out;
}

void wait_for(const std::function<bool()>& ready) {
  for (int i = 0; i < 2000 && !ready(); ++i) std::this_thread::sleep_for(5ms);
}

// A reader of the whole answer waits for the end only: text does not end its
// wait, the end does, and the text is still there for a streaming reader.
TEST(SequenceStream, WaitDoneReturnsAtTheEndNotAtEachToken) {
  SequenceStream s;
  s.push_text("Once");
  EXPECT_FALSE(s.wait_done(20ms));
  std::thread producer([&] {
    std::this_thread::sleep_for(30ms);
    s.push_text(" upon");
    GenerateResult r;
    r.text = "Once upon";
    s.finish(r);
  });
  EXPECT_TRUE(s.wait_done(5000ms));
  producer.join();
  EXPECT_EQ(s.result().text, "Once upon");
  EXPECT_EQ(s.next(0ms), "Once upon");
  EXPECT_TRUE(s.done());
}

class SchedulerTest : public ::testing::TestWithParam<int> {};

TEST_P(SchedulerTest, EachRequestGetsWhatItGetsAlone) {
  const auto fixture = stories_fixture();
  if (!fixture) GTEST_SKIP() << "no stories260K.gguf fixture (tools/make_test_fixtures.py)";
  ModelFile model = open_model(fixture->path);
  EngineOptions o = test::test_options(GetParam());
  o.slots = 3;
  o.max_context = 128;
  // 3 slots for 7 requests (they queue and join as others leave), 8 rows a
  // step (prompts of up to 33 tokens go in chunks between decode steps).
  Scheduler sched({3, 8, 16, 0.05});
  const auto requests = some_requests(model.config.vocab_size);
  std::vector<GenerateResult> alone, batched(requests.size());
  Engine engine(model, o);
  engine.run([&](Steps& steps) {
    for (const auto& r : requests) alone.push_back(generate(steps, r.prompt, r.options));
    std::thread client([&] {
      wait_for([&] { return sched.running(); });
      std::vector<std::shared_ptr<SequenceStream>> streams;
      for (const auto& r : requests) {
        auto s = sched.submit(r);
        ASSERT_EQ(s.admission, Scheduler::Admission::Queued);
        streams.push_back(s.stream);
        std::this_thread::sleep_for(2ms);  // joins at different steps
      }
      for (size_t i = 0; i < streams.size(); ++i) {
        wait_for([&] { return streams[i]->done(); });
        EXPECT_EQ(streams[i]->error(), "");
        batched[i] = streams[i]->result();
      }
      sched.stop();
    });
    sched.run(steps);
    client.join();
  });
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(batched[i].generated, alone[i].generated) << "request " << i;
    EXPECT_EQ(batched[i].stop_reason, alone[i].stop_reason) << "request " << i;
  }
  const SchedulerStats st = sched.stats();
  EXPECT_GT(st.steps, 0u);
  uint64_t prompt_tokens = 0, generated = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    prompt_tokens += requests[i].prompt.size();
    generated += alone[i].generated.size();
  }
  EXPECT_EQ(st.prompt_tokens, prompt_tokens);
  EXPECT_EQ(st.generated_tokens, generated);
}

INSTANTIATE_TEST_SUITE_P(Tp, SchedulerTest, ::testing::Values(1, 2));

TEST(Scheduler, ACancelledRequestFreesItsSlotAndAFullQueueRefuses) {
  const auto fixture = stories_fixture();
  if (!fixture) GTEST_SKIP() << "no stories260K.gguf fixture (tools/make_test_fixtures.py)";
  ModelFile model = open_model(fixture->path);
  EngineOptions o = test::test_options(1);
  o.max_context = 512;
  Scheduler sched({1, 16, 1, 0.05});
  SequenceRequest endless;
  endless.prompt = {1, 2, 3};
  endless.options.max_new_tokens = -1;  // until the context ends: long enough to cancel
  SequenceRequest shorter = endless;
  shorter.options.max_new_tokens = 4;
  Engine engine(model, o);
  engine.run([&](Steps& steps) {
    std::thread client([&] {
      wait_for([&] { return sched.running(); });
      auto a = sched.submit(endless);
      ASSERT_EQ(a.admission, Scheduler::Admission::Queued);
      wait_for([&] { return sched.stats().generated_tokens > 0; });
      EXPECT_EQ(sched.stats().running, 1);
      // The one slot is taken: one request may wait, the next is refused.
      auto b = sched.submit(shorter);
      EXPECT_EQ(b.admission, Scheduler::Admission::Queued);
      EXPECT_EQ(sched.submit(shorter).admission, Scheduler::Admission::QueueFull);
      a.stream->cancel();
      wait_for([&] { return b.stream->done(); });
      EXPECT_EQ(a.stream->error(), "cancelled");
      EXPECT_EQ(b.stream->error(), "");
      EXPECT_EQ(b.stream->result().generated.size(), 4u);
      EXPECT_EQ(sched.stats().cancelled, 1u);
      sched.stop();
    });
    sched.run(steps);
    client.join();
  });
  EXPECT_EQ(sched.submit(shorter).admission, Scheduler::Admission::NotRunning);
}

}  // namespace
}  // namespace tplm
