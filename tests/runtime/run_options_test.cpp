// Threads per rank divide this host's cores among the ranks on this host:
// every rank for thread ranks, only mpirun's local ranks under mpirun.
#include "runtime/run_options.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "parallel/process_world.hpp"

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

}  // namespace
}  // namespace tplm
