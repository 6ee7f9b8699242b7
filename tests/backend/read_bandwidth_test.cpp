// The host's read bandwidth measurement: a positive figure, and clear errors.
#include "backend/cpu/read_bandwidth.hpp"

#include <gtest/gtest.h>

#include "backend/backend.hpp"
#include "base/error.hpp"

namespace tplm {
namespace {

TEST(ReadBandwidth, MeasuresAPositiveFigure) {
  // 64 MiB over 2 threads: a memory of at least 100 MB/s on any machine.
  const double b = cpu::read_bandwidth_bytes_per_s(2, uint64_t{64} << 20, 2);
  EXPECT_GT(b, 1e8);
  EXPECT_LT(b, 1e13);
  EXPECT_GT(backend_read_bandwidth_gbps(BackendKind::Cpu, 0), 0.1);
}

TEST(ReadBandwidth, RefusesImpossibleArguments) {
  EXPECT_THROW(cpu::read_bandwidth_bytes_per_s(0, 1 << 20, 1), Error);
  EXPECT_THROW(cpu::read_bandwidth_bytes_per_s(1, 1 << 20, 0), Error);
  EXPECT_THROW(cpu::read_bandwidth_bytes_per_s(4, 64, 1), Error);
}

}  // namespace
}  // namespace tplm
