// The machine's memory read bandwidth as a decode kernel sees it (the
// library's measurement, backend/cpu/read_bandwidth.hpp): prints the best of
// 8 passes in GB/s. Built by CMake (target read_bandwidth) and run by
// scripts/bench_vs_llamacpp.sh; not a test.
//   read_bandwidth [THREADS=2] [MIB=2048]
#include "backend/cpu/read_bandwidth.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const unsigned long long mib = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2048ull;
  try {
    std::printf("%.2f\n", tplm::cpu::read_bandwidth_bytes_per_s(threads, mib << 20, 8) / 1e9);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "read_bandwidth: %s\n", e.what());
    return 2;
  }
  return 0;
}
