#include "backend/cpu/host_memory.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/error.hpp"

namespace tplm::cpu {

namespace {

constexpr size_t kAlign = 64;
constexpr size_t kPage = 4096;

size_t round_up(size_t bytes, size_t align) {
  return (bytes + align - 1) / align * align;
}

[[noreturn]] void out_of_memory(size_t bytes) {
  throw Error("cpu backend: out of host memory allocating " + std::to_string(bytes) +
              " bytes (reduce the context length or use a larger tp)");
}

// The mappings made for huge buffers and their lengths, for free_host.
// malloc's heap is not used for them: its alignment gaps, once touched by
// other buffers and freed, stay resident.
struct Mappings {
  std::mutex mutex;
  std::unordered_map<void*, size_t> length;
};

// Never destroyed: a backend released during static destruction still finds it.
Mappings& mappings() {
  static Mappings* const m = new Mappings;
  return *m;
}

// A private anonymous mapping of `length` bytes (whole 4 KiB pages) starting
// on a huge page: one huge page more is mapped and the ends cut off.
void* map_aligned(size_t length) {
  const size_t span = length + kHugePageBytes;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto begin = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = round_up(begin, kHugePageBytes);
  if (aligned > begin) munmap(raw, aligned - begin);
  const uintptr_t end = begin + span;
  if (end > aligned + length)
    munmap(reinterpret_cast<void*>(aligned + length), end - aligned - length);
  return reinterpret_cast<void*>(aligned);
}

}  // namespace

void* alloc_host(size_t bytes) {
  if (bytes < kHugePageBytes) {
    const size_t used = round_up(std::max<size_t>(bytes, 1), kAlign);
    void* p = std::aligned_alloc(kAlign, used);
    if (p == nullptr) out_of_memory(bytes);
    std::memset(p, 0, used);
    return p;
  }
  const size_t length = round_up(bytes, kPage);
  void* p = map_aligned(length);
  if (p == nullptr) out_of_memory(bytes);
  // Whole huge pages only: the partial last one is not in the mapping whole,
  // so it keeps 4 KiB pages and costs no more than it holds.
  madvise(p, length / kHugePageBytes * kHugePageBytes, MADV_HUGEPAGE);
  // A fresh mapping reads as zeros; writing them faults the pages in now
  // (load time), not during the first decode step.
  std::memset(p, 0, length);
  Mappings& m = mappings();
  std::lock_guard lock(m.mutex);
  m.length.emplace(p, length);
  return p;
}

void free_host(void* p) {
  if (p == nullptr) return;
  Mappings& m = mappings();
  {
    std::lock_guard lock(m.mutex);
    const auto it = m.length.find(p);
    if (it != m.length.end()) {
      munmap(p, it->second);
      m.length.erase(it);
      return;
    }
  }
  std::free(p);
}

}  // namespace tplm::cpu
