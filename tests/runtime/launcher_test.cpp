// The launcher: every rank runs, a failing rank ends the world (no hang) and
// its error, not the others' CommErrors, reaches the caller.
#include "runtime/launcher.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "base/error.hpp"

namespace tplm {
namespace {

TEST(Launcher, RunsEveryRankWithItsCommunicator) {
  for (int tp : {1, 2, 5}) {
    std::vector<int> seen(static_cast<size_t>(tp), 0);
    launch_ranks({tp, 10.0}, [&](Communicator& comm) {
      EXPECT_EQ(comm.world_size(), tp);
      float x = 1.0f;
      if (tp > 1) comm.all_reduce_sum(&x, 1);
      EXPECT_EQ(x, static_cast<float>(tp));
      seen[static_cast<size_t>(comm.rank())] = 1;
    });
    EXPECT_EQ(seen, std::vector<int>(static_cast<size_t>(tp), 1));
  }
}

TEST(Launcher, AFailingRankEndsTheWorldAndItsErrorIsRethrown) {
  std::atomic<int> finished{0};
  try {
    launch_ranks({4, 30.0}, [&](Communicator& comm) {
      if (comm.rank() == 2) throw Error("rank 2 could not load its shard");
      float x = 0;
      comm.all_reduce_sum(&x, 1);  // would wait forever for rank 2 without the abort
      ++finished;
    });
    FAIL() << "no error";
  } catch (const CommError& e) {
    FAIL() << "the peers' CommError hid the cause: " << e.what();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "rank 2 could not load its shard");
  }
  EXPECT_EQ(finished.load(), 0);
}

TEST(Launcher, TpOutOfRangeIsAnError) {
  EXPECT_THROW(launch_ranks({0, 1.0}, [](Communicator&) {}), Error);
  EXPECT_THROW(launch_ranks({65, 1.0}, [](Communicator&) {}), Error);
}

}  // namespace
}  // namespace tplm
