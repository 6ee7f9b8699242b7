// The cpu backend's host memory (host_memory.hpp): zeroed, aligned, and the
// buffers of a huge page or more advised to the kernel's huge pages.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "backend/cpu/host_memory.hpp"

namespace tplm {
namespace {

bool all_zero(const void* p, size_t bytes) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < bytes; ++i)
    if (b[i] != 0) return false;
  return true;
}

// The VmFlags line of the mapping of /proc/self/smaps that holds `p`.
std::string vm_flags_of(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = begin <= at && at < end;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

TEST(CpuHostMemory, SmallBuffersAreZeroedAndAlignedToACacheLine) {
  for (size_t bytes : {size_t{0}, size_t{1}, size_t{63}, size_t{4096}, cpu::kHugePageBytes - 1}) {
    void* p = cpu::alloc_host(bytes);
    ASSERT_NE(p, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << bytes;
    EXPECT_TRUE(all_zero(p, bytes)) << bytes;
    std::memset(p, 0xab, bytes);
    cpu::free_host(p);
  }
  cpu::free_host(nullptr);
}

TEST(CpuHostMemory, HugeBuffersStartOnAHugePageAndAreAdvisedToUseThem) {
  if (!std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled"))
    GTEST_SKIP() << "this kernel has no transparent huge pages to advise";
  // One huge page, and three and a bit (the partial last page is not advised).
  for (size_t bytes : {cpu::kHugePageBytes, 3 * cpu::kHugePageBytes + 100}) {
    auto* p = static_cast<unsigned char*>(cpu::alloc_host(bytes));
    ASSERT_NE(p, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % cpu::kHugePageBytes, 0u) << bytes;
    EXPECT_TRUE(all_zero(p, bytes)) << bytes;
    std::memset(p, 0xcd, bytes);
    EXPECT_EQ(p[bytes - 1], 0xcd);
    // madvise(MADV_HUGEPAGE) marks the mapping "hg", whether or not the
    // kernel found huge pages for it (that depends on its free memory).
    const std::string flags = vm_flags_of(p);
    ASSERT_FALSE(flags.empty()) << "no mapping holds the buffer in /proc/self/smaps";
    EXPECT_NE(flags.find(" hg"), std::string::npos) << flags;
    const std::string tail = vm_flags_of(p + bytes / cpu::kHugePageBytes * cpu::kHugePageBytes);
    if (bytes % cpu::kHugePageBytes != 0) {
      EXPECT_EQ(tail.find(" hg"), std::string::npos) << tail;
    }
    cpu::free_host(p);
  }
}

TEST(CpuHostMemory, FreedHugeBuffersGiveTheirMappingBack) {
  void* p = cpu::alloc_host(4 * cpu::kHugePageBytes);
  ASSERT_FALSE(vm_flags_of(p).empty());
  cpu::free_host(p);
  EXPECT_TRUE(vm_flags_of(p).empty()) << "the mapping is still there after free_host";
}

TEST(CpuHostMemory, ManyBuffersOfBothKindsKeepTheirBytesAndFreeInAnyOrder) {
  std::vector<unsigned char*> buffers;
  std::vector<size_t> sizes;
  for (int i = 0; i < 16; ++i) {
    sizes.push_back(i % 2 ? cpu::kHugePageBytes + 4096 * i : 1000 * i + 1);
    buffers.push_back(static_cast<unsigned char*>(cpu::alloc_host(sizes.back())));
    std::memset(buffers.back(), i + 1, sizes.back());
  }
  // No buffer overlaps another: each still holds its own byte everywhere.
  for (size_t i = 0; i < buffers.size(); ++i) {
    const auto want = static_cast<unsigned char>(i + 1);
    size_t wrong = 0;
    for (size_t k = 0; k < sizes[i]; ++k) wrong += buffers[i][k] != want;
    EXPECT_EQ(wrong, 0u) << "buffer " << i;
  }
  for (size_t i = 0; i < buffers.size(); i += 2) cpu::free_host(buffers[i]);
  for (size_t i = 1; i < buffers.size(); i += 2) {
    cpu::free_host(buffers[i]);
    EXPECT_TRUE(vm_flags_of(buffers[i]).empty()) << "huge buffer " << i << " still mapped";
  }
}

}  // namespace
}  // namespace tplm
