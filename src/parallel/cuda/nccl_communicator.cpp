// NCCL between GPUs, one rank per GPU. Data collectives are queued on the
// rank's stream (they can be part of a recorded step); settle() is where the
// host waits for them, polling the stream and NCCL's asynchronous error, and
// aborting the communicator when the timeout passes. The control channel is
// the host communicator this one was made with (threads, or MPI).
#include <cuda_runtime.h>
#include <fmt/format.h>
#include <nccl.h>

#include <chrono>
#include <thread>

#include "base/cuda_check.hpp"
#include "parallel/cuda/device_communicators.hpp"
#include "parallel/process_world.hpp"
#include "parallel/thread_communicator.hpp"

namespace tplm {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(int rank, int size, const ncclUniqueId& id, std::unique_ptr<Communicator> host,
                   double timeout_seconds)
      : rank_(rank), size_(size), id_(id), host_(std::move(host)), timeout_(timeout_seconds) {}

  ~NcclCommunicator() override {
    if (event_ != nullptr) cudaEventDestroy(event_);
    if (comm_ == nullptr) return;
    // A healthy communicator is finalized (its peers do the same); a broken one aborted.
    if (!broken_) {
      ncclResult_t st = ncclCommFinalize(comm_);
      const auto t0 = Clock::now();
      while (st == ncclInProgress && seconds_since(t0) < timeout_)
        ncclCommGetAsyncError(comm_, &st);
      if (st == ncclSuccess) {
        ncclCommDestroy(comm_);
        return;
      }
    }
    ncclCommAbort(comm_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  ControlChannel& control() override { return host_->control(); }
  bool recordable() const override { return true; }

  // The rank's GPU is current on this thread now: create the NCCL
  // communicator (every rank of the world does it at the same time).
  void set_stream(void* stream) override {
    stream_ = static_cast<cudaStream_t>(stream);
    if (comm_ != nullptr) return;
    TPLM_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming));
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    queued(ncclCommInitRankConfig(&comm_, size_, id_, rank_, &config), "NCCL initialization");
  }

  void all_reduce_sum(float* data, size_t count) override {
    if (size_ == 1 || count == 0) return;
    queued(ncclAllReduce(data, data, count, ncclFloat, ncclSum, need_comm(), stream_),
           "all-reduce");
    bytes_ +=
        2 * static_cast<uint64_t>(size_ - 1) * count * sizeof(float) / static_cast<uint64_t>(size_);
  }

  void all_gather(const float* send, size_t count, float* recv) override {
    if (size_ == 1) {
      if (count > 0 && send != recv)
        TPLM_CUDA_CHECK(
            cudaMemcpyAsync(recv, send, count * sizeof(float), cudaMemcpyDeviceToDevice, stream_));
      return;
    }
    queued(ncclAllGather(send, recv, count, ncclFloat, need_comm(), stream_), "all-gather");
    bytes_ += static_cast<uint64_t>(size_ - 1) * count * sizeof(float);
  }

  // Waits for the stream (and so for every collective queued on it so far).
  void settle() override {
    if (size_ == 1 || comm_ == nullptr) return;
    const auto t0 = Clock::now();
    TPLM_CUDA_CHECK(cudaEventRecord(event_, stream_));
    for (unsigned spin = 0;; ++spin) {
      const cudaError_t st = cudaEventQuery(event_);
      if (st == cudaSuccess) break;
      if (st != cudaErrorNotReady) TPLM_CUDA_CHECK(st);
      check_async("collective");
      if (seconds_since(t0) > timeout_) fail_timeout("collectives");
      if (spin >= 64) std::this_thread::yield();
    }
    seconds_ += seconds_since(t0);
  }

  void abort(const std::string& reason) override {
    if (comm_ != nullptr && !broken_) ncclCommAbort(comm_), comm_ = nullptr;
    broken_ = true;
    host_->abort(reason);
  }

  bool aborted() const override { return broken_ || host_->aborted(); }
  uint64_t bytes_sent() const override { return bytes_ + host_->bytes_sent(); }
  double seconds_in_collectives() const override {
    return seconds_ + host_->seconds_in_collectives();
  }

 private:
  ncclComm_t need_comm() {
    if (comm_ == nullptr)
      throw CommError(fmt::format("rank {}: NCCL is not set up (no stream was bound)", rank_));
    return comm_;
  }

  // A non-blocking call returns at once; poll until it has been queued.
  void queued(ncclResult_t result, const char* what) {
    const auto t0 = Clock::now();
    if (result != ncclSuccess && result != ncclInProgress) fail(what, result);
    for (;;) {
      ncclResult_t st = ncclSuccess;
      ncclCommGetAsyncError(comm_, &st);
      if (st == ncclSuccess) break;
      if (st != ncclInProgress) fail(what, st);
      if (seconds_since(t0) > timeout_) fail_timeout(what);
      std::this_thread::yield();
    }
    seconds_ += seconds_since(t0);
  }

  void check_async(const char* what) {
    ncclResult_t st = ncclSuccess;
    ncclCommGetAsyncError(comm_, &st);
    if (st != ncclSuccess && st != ncclInProgress) fail(what, st);
  }

  [[noreturn]] void fail(const char* what, ncclResult_t st) {
    const std::string detail = comm_ != nullptr ? ncclGetLastError(comm_) : "";
    abort_comm();
    throw CommError(fmt::format("rank {}: NCCL {} failed: {}{}{}", rank_, what,
                                ncclGetErrorString(st), detail.empty() ? "" : ": ", detail));
  }

  [[noreturn]] void fail_timeout(const char* what) {
    abort_comm();
    throw CommError(fmt::format(
        "rank {}: the NCCL {} did not complete within {:g} s: a peer died or the link is down",
        rank_, what, timeout_));
  }

  void abort_comm() {
    if (comm_ != nullptr) ncclCommAbort(comm_);
    comm_ = nullptr;
    broken_ = true;
  }

  int rank_, size_;
  ncclUniqueId id_;
  std::unique_ptr<Communicator> host_;
  double timeout_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t event_ = nullptr;
  bool broken_ = false;
  uint64_t bytes_ = 0;
  double seconds_ = 0;
};

ncclUniqueId new_unique_id() {
  ncclUniqueId id;
  const ncclResult_t st = ncclGetUniqueId(&id);
  if (st != ncclSuccess)
    throw CommError(fmt::format("NCCL could not make its unique id: {}", ncclGetErrorString(st)));
  return id;
}

}  // namespace

std::vector<std::unique_ptr<Communicator>> make_nccl_thread_communicators(int n,
                                                                          double timeout_seconds) {
  auto host = make_thread_communicators(n, timeout_seconds);
  const ncclUniqueId id = new_unique_id();
  std::vector<std::unique_ptr<Communicator>> comms;
  for (int r = 0; r < n; ++r)
    comms.push_back(std::make_unique<NcclCommunicator>(
        r, n, id, std::move(host[static_cast<size_t>(r)]), timeout_seconds));
  return comms;
}

std::unique_ptr<Communicator> make_nccl_mpi_communicator(double timeout_seconds) {
  std::unique_ptr<Communicator> host = make_mpi_communicator(timeout_seconds);
  ncclUniqueId id{};
  if (host->rank() == 0) id = new_unique_id();
  host->control().broadcast(&id, sizeof id, 0);
  const int rank = host->rank(), size = host->world_size();
  return std::make_unique<NcclCommunicator>(rank, size, id, std::move(host), timeout_seconds);
}

}  // namespace tplm
