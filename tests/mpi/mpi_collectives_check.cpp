// Self-check of the MPI communicator: run under
//   mpirun --allow-run-as-root --oversubscribe -np N mpi_collectives_check
// Every collective, at sizes from 1 element to 4 MiB and with empty gather
// counts, is compared on every rank against a serial reference that each rank
// computes alone (it can regenerate every rank's input from the seed).
// Rank 0 prints "K passed, F failed"; the exit status is non-zero on any
// mismatch on any rank.
//
// Fault drills (for tests/scripts/test_mpi_faults.sh):
//   --timeout S        collective timeout (default 60)
//   --die-rank R       rank R kills itself with SIGKILL after the first check
//   --stall-rank R     rank R stops calling collectives (a peer that never arrives)
//   --bench-bytes B    also time an all-reduce of B bytes (rank 0 prints µs/call)
//   --loop-seconds S   then keep all-reducing 4 KB for S seconds (a link can be cut meanwhile)
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "parallel/process_world.hpp"

namespace {

struct Options {
  double timeout = 60.0;
  int die_rank = -1;
  int stall_rank = -1;
  size_t bench_bytes = 0;
  double loop_seconds = 0;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--timeout")
      o.timeout = std::atof(v);
    else if (k == "--die-rank")
      o.die_rank = std::atoi(v);
    else if (k == "--stall-rank")
      o.stall_rank = std::atoi(v);
    else if (k == "--loop-seconds")
      o.loop_seconds = std::atof(v);
    else if (k == "--bench-bytes")
      o.bench_bytes = std::strtoull(v, nullptr, 10);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      std::exit(2);
    }
  }
  return o;
}

// Input of rank r for case c: small integers-ish floats so that sums in any
// order differ only by rounding, deterministic from (case, rank, index).
float value(int c, int r, size_t i) {
  uint64_t x = (static_cast<uint64_t>(c) * 1000003u + static_cast<uint64_t>(r)) * 2654435761u + i;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return static_cast<float>(static_cast<int>(x % 2001) - 1000) / 64.0f;
}

struct Tally {
  int passed = 0;
  int failed = 0;
  void expect(bool ok, const std::string& what, int rank) {
    if (ok) {
      ++passed;
    } else {
      ++failed;
      std::fprintf(stderr, "rank %d: FAILED %s\n", rank, what.c_str());
    }
  }
};

void check_all_reduce(tplm::Communicator& comm, int c, size_t n, Tally& t) {
  const int me = comm.rank(), size = comm.world_size();
  std::vector<float> data(n), ref(n, 0.0f);
  for (size_t i = 0; i < n; ++i) data[i] = value(c, me, i);
  for (int r = 0; r < size; ++r)
    for (size_t i = 0; i < n; ++i) ref[i] += value(c, r, i);
  comm.all_reduce_sum(data.data(), n);
  size_t bad = 0;
  // The inputs are multiples of 1/64 below 16: sums of <= 8 are exact in float.
  for (size_t i = 0; i < n; ++i) bad += data[i] != ref[i];
  t.expect(bad == 0, fmt::format("all_reduce_sum n={} ({} wrong)", n, bad), me);
}

void check_all_gather(tplm::Communicator& comm, int c, size_t base, Tally& t) {
  const int me = comm.rank(), size = comm.world_size();
  // Every rank gives base elements (0 too).
  const size_t total = base * static_cast<size_t>(size);
  std::vector<float> send(base), recv(total, -1.0f), ref;
  for (size_t i = 0; i < send.size(); ++i) send[i] = value(c, me, i);
  for (int r = 0; r < size; ++r)
    for (size_t i = 0; i < base; ++i) ref.push_back(value(c, r, i));
  comm.all_gather(send.data(), base, recv.data());
  t.expect(recv == ref, fmt::format("all_gather base={} total={}", base, total), me);
}

void check_broadcast(tplm::Communicator& comm, int c, size_t bytes, int root, Tally& t) {
  const int me = comm.rank();
  std::vector<unsigned char> buf(bytes), ref(bytes);
  for (size_t i = 0; i < bytes; ++i) {
    ref[i] = static_cast<unsigned char>(static_cast<int>(value(c, root, i) * 64.0f) & 0xff);
    buf[i] = me == root ? ref[i] : 0xAB;
  }
  comm.control().broadcast(buf.data(), bytes, root);
  t.expect(buf == ref, fmt::format("broadcast bytes={} root={}", bytes, root), me);
}

void bench(tplm::Communicator& comm, size_t bytes) {
  std::vector<float> v(bytes / sizeof(float), 1.0f);
  for (int i = 0; i < 20; ++i) comm.all_reduce_sum(v.data(), v.size());
  const int iters = 2000;
  comm.control().barrier();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) comm.all_reduce_sum(v.data(), v.size());
  double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() /
      iters;
  if (comm.rank() == 0)
    std::printf("bench: all_reduce_sum %zu bytes, %d ranks: %.2f us/call\n", bytes,
                comm.world_size(), us);
}

int run(const Options& o) {
  auto comm = tplm::make_mpi_communicator(o.timeout);
  const int me = comm->rank(), size = comm->world_size();
  Tally t;
  int c = 0;
  comm->control().barrier();
  if (me == o.die_rank) std::raise(SIGKILL);  // like kill -9 from outside
  if (me == o.stall_rank)
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  for (size_t n : {size_t{1}, size_t{2}, size_t{7}, size_t{1000}, size_t{1024}, size_t{65537},
                   size_t{1} << 20})
    check_all_reduce(*comm, ++c, n, t);
  for (size_t base : {size_t{0}, size_t{1}, size_t{5}, size_t{4096}, size_t{300000}})
    check_all_gather(*comm, ++c, base, t);
  for (size_t bytes : {size_t{1}, size_t{13}, size_t{4096}, size_t{3} << 20})
    for (int root : {0, size - 1}) check_broadcast(*comm, ++c, bytes, root, t);
  comm->control().barrier();
  ++t.passed;  // the barrier returned
  // Every rank's failures count: the world's total is the all-reduce of tallies.
  float tally[2] = {static_cast<float>(t.passed), static_cast<float>(t.failed)};
  comm->all_reduce_sum(tally, 2);
  if (o.bench_bytes > 0) bench(*comm, o.bench_bytes);
  if (o.loop_seconds > 0) {
    // Rank 0 decides when to stop, so every rank makes the same number of calls.
    std::vector<float> v(1024, 1.0f);
    const auto t0 = std::chrono::steady_clock::now();
    for (float stop = 0; stop == 0.0f;) {
      comm->all_reduce_sum(v.data(), v.size());
      stop =
          me == 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() >
                         o.loop_seconds;
      comm->control().broadcast(&stop, sizeof stop, 0);
    }
  }
  if (me == 0)
    std::printf(
        "mpi_collectives_check: %d ranks: %d passed, %d failed (bytes_sent by rank 0: %llu, "
        "%.3f s in collectives)\n",
        size, static_cast<int>(tally[0]), static_cast<int>(tally[1]),
        static_cast<unsigned long long>(comm->bytes_sent()), comm->seconds_in_collectives());
  return tally[1] == 0.0f ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    return run(o);
  } catch (const tplm::CommError& e) {
    // The contract: one message, then end the whole world so nothing is left behind.
    std::fprintf(stderr, "mpi_collectives_check: %s\n", e.what());
    tplm::mpi_abort_world(3);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpi_collectives_check: %s\n", e.what());
    tplm::mpi_abort_world(2);
  }
}
