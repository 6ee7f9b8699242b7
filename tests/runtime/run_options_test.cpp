// Threads per rank divide this host's cores among the ranks on this host:
// every rank for thread ranks, only mpirun's local ranks under mpirun. The
// options' own ranges are checked before any file (check_run_options).
#include "runtime/run_options.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "parallel/process_world.hpp"
#include "runtime/usage_error.hpp"

namespace tplm {
namespace {

// Sets the variables OpenMPI's mpirun gives each process, and removes them after.
class FakeMpirun {
 public:
  FakeMpirun(int size, int rank, int local_size) {
    ::setenv("OMPI_COMM_WORLD_SIZE", std::to_string(size).c_str(), 1);
    ::setenv("OMPI_COMM_WORLD_RANK", std::to_string(rank).c_str(), 1);
    ::setenv("OMPI_COMM_WORLD_LOCAL_SIZE", std::to_string(local_size).c_str(), 1);
  }
  ~FakeMpirun() {
    for (const char* v :
         {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"})
      ::unsetenv(v);
  }
};

TEST(RunOptions, ThreadRanksShareThisHostsCores) {
  ASSERT_FALSE(detect_mpi_launch().has_value()) << "run this test outside mpirun";
  EXPECT_EQ(ranks_on_this_host(4), 4);
  EXPECT_EQ(threads_per_rank(0, 1), host_cores());
  EXPECT_EQ(threads_per_rank(0, 2 * host_cores()), 1);  // never below one
  EXPECT_EQ(threads_per_rank(3, 8), 3);                 // as given
}

TEST(RunOptions, MpiRanksShareOnlyTheirOwnHostsCores) {
  FakeMpirun env(8, 5, 2);  // 8 ranks, 2 of them on this host
  auto w = detect_mpi_launch();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->rank, 5);
  EXPECT_EQ(w->size, 8);
  EXPECT_EQ(w->local_size, 2);
  EXPECT_EQ(ranks_on_this_host(8), 2);
  EXPECT_EQ(threads_per_rank(0, 8), std::max(1, host_cores() / 2));
}

// Every option's own range, before any file: UsageError with the value in it.
TEST(RunOptions, OutOfRangeValuesAreUsageErrors) {
  auto message = [](const RunOptions& o) -> std::string {
    try {
      check_run_options(o);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  };
  RunOptions ok;
  EXPECT_EQ(message(ok), "");
  RunOptions o = ok;
  o.tp = 0;
  EXPECT_EQ(message(o), "--tp 0 is out of range; use 1 to 64");
  o = ok;
  o.threads = -1;
  EXPECT_NE(message(o).find("--threads -1 is out of range"), std::string::npos);
  o.threads = kMaxThreads + 1;
  EXPECT_NE(message(o).find("use 1 to 1024"), std::string::npos);
  o = ok;
  o.max_new_tokens = -2;
  EXPECT_NE(message(o).find("-n -2 is out of range"), std::string::npos);
  o.max_new_tokens = -1;  // no limit
  EXPECT_EQ(message(o), "");
  o = ok;
  o.timeout_seconds = 0;
  EXPECT_NE(message(o).find("--comm-timeout 0 is out of range"), std::string::npos);
  o = ok;
  o.sampling.temperature = -1;
  EXPECT_NE(message(o).find("--temp -1 is out of range"), std::string::npos);
  o = ok;
  o.stop = {"a", ""};
  EXPECT_EQ(message(o), "--stop: a stop string is empty");
}

TEST(RunOptions, MoreThreadsThanCoresIsAWarning) {
  EXPECT_FALSE(threads_warning(0, 4).has_value());  // the default never oversubscribes by itself
  EXPECT_FALSE(threads_warning(1, 1).has_value());
  const auto w = threads_warning(host_cores() + 1, 1);
  ASSERT_TRUE(w.has_value());
  EXPECT_NE(w->find(std::to_string(host_cores()) + " cores"), std::string::npos) << *w;
  // 1 thread x more ranks than cores: the plan says so already (no second warning).
  EXPECT_FALSE(threads_warning(1, host_cores() + 1).has_value());
  EXPECT_TRUE(threads_warning(2, host_cores()).has_value());
}

}  // namespace
}  // namespace tplm
