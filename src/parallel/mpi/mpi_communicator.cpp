#include "parallel/mpi/mpi_communicator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "parallel/process_world.hpp"

namespace tplm {
namespace {

// MPI counts are int: large buffers go in pieces of at most this many elements.
constexpr size_t kMaxChunk = size_t{1} << 30;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::string mpi_error_string(int rc) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, buf, &len);
  return std::string(buf, static_cast<size_t>(len));
}

}  // namespace

void ensure_mpi_initialized() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    throw CommError("MPI_Init_thread failed: is this process started by mpirun?");
  std::atexit(finalize_at_exit);
}

MpiCommunicator::MpiCommunicator(double timeout_seconds) : timeout_(timeout_seconds) {
  check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
  // Errors come back as codes (then CommError) instead of aborting inside MPI.
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (comm_ != MPI_COMM_NULL && !finalized) MPI_Comm_free(&comm_);
}

void MpiCommunicator::check(int rc, const char* what) const {
  if (rc != MPI_SUCCESS)
    throw CommError(fmt::format("rank {}: {} failed: {}", rank_, what, mpi_error_string(rc)));
}

void MpiCommunicator::wait(MPI_Request& req, const char* what, Clock::time_point t0,
                           bool back_off) {
  auto nap = std::chrono::microseconds(20);
  for (unsigned spin = 0;; ++spin) {
    int done = 0;
    check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), what);
    if (done) break;
    // A long wait (a server's follower between steps): after ~4096 polls
    // (some hundreds of microseconds, the gap between two decode steps),
    // sleep between polls, doubling the nap up to 1 ms, so that an idle rank
    // costs no core and a busy one no latency.
    if (back_off && spin >= 4096) {
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, std::chrono::microseconds(1000));
    }
    // More ranks than cores (oversubscribed, or namespace "hosts" on one
    // machine): a spinning rank would hold the core its peer needs for a whole
    // scheduler slice. After a short spin, give the core away on every miss.
    else if (spin >= 64)
      std::this_thread::yield();
    // Reading the clock costs ~20 ns; once per 256 tests is plenty.
    if ((spin & 255u) == 255u && timeout_ > 0 && seconds_since(t0) > timeout_)
      throw CommError(fmt::format(
          "rank {}: the {} did not complete within {:g} s: a peer died or the link is down", rank_,
          what, timeout_));
  }
  seconds_ += seconds_since(t0);
}

void MpiCommunicator::all_reduce_sum(float* data, size_t count) {
  if (size_ == 1 || count == 0) return;
  for (size_t off = 0; off < count; off += kMaxChunk) {
    const int n = static_cast<int>(std::min(kMaxChunk, count - off));
    MPI_Request req;
    const auto t0 = Clock::now();
    check(MPI_Iallreduce(MPI_IN_PLACE, data + off, n, MPI_FLOAT, MPI_SUM, comm_, &req),
          "all-reduce");
    wait(req, "all-reduce", t0);
  }
  bytes_sent_ +=
      2 * (static_cast<uint64_t>(size_) - 1) * count * sizeof(float) / static_cast<uint64_t>(size_);
}

void MpiCommunicator::all_gather(const float* send, size_t count, float* recv) {
  if (count > INT_MAX)
    throw CommError(fmt::format(
        "rank {}: all_gather of {} elements is too large for MPI's int counts; split the gather",
        rank_, count));
  if (size_ == 1) {
    if (count != 0 && send != recv) std::copy(send, send + count, recv);
    return;
  }
  MPI_Request req;
  const auto t0 = Clock::now();
  check(MPI_Iallgather(send, static_cast<int>(count), MPI_FLOAT, recv, static_cast<int>(count),
                       MPI_FLOAT, comm_, &req),
        "all-gather");
  wait(req, "all-gather", t0);
  bytes_sent_ += (static_cast<uint64_t>(size_) - 1) * count * sizeof(float);
}

void MpiCommunicator::broadcast(void* data, size_t bytes, int root) {
  broadcast_impl(data, bytes, root, false);
}

void MpiCommunicator::broadcast_waiting(void* data, size_t bytes, int root) {
  broadcast_impl(data, bytes, root, true);
}

void MpiCommunicator::broadcast_impl(void* data, size_t bytes, int root, bool back_off) {
  if (root < 0 || root >= size_)
    throw CommError(
        fmt::format("rank {}: broadcast from root {} in a world of {} ranks", rank_, root, size_));
  if (size_ == 1 || bytes == 0) return;
  auto* p = static_cast<unsigned char*>(data);
  for (size_t off = 0; off < bytes; off += kMaxChunk) {
    const int n = static_cast<int>(std::min(kMaxChunk, bytes - off));
    MPI_Request req;
    const auto t0 = Clock::now();
    check(MPI_Ibcast(p + off, n, MPI_BYTE, root, comm_, &req), "broadcast");
    wait(req, "broadcast", t0, back_off);
  }
  if (rank_ == root) bytes_sent_ += (static_cast<uint64_t>(size_) - 1) * bytes;
}

void MpiCommunicator::barrier() {
  if (size_ == 1) return;
  MPI_Request req;
  const auto t0 = Clock::now();
  check(MPI_Ibarrier(comm_, &req), "barrier");
  wait(req, "barrier", t0);
}

bool mpi_available() {
  return true;
}

std::unique_ptr<Communicator> make_mpi_communicator(double timeout_seconds) {
  ensure_mpi_initialized();
  return std::make_unique<MpiCommunicator>(timeout_seconds);
}

void mpi_abort_world(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace tplm
