#pragma once
// Host memory for the cpu backend's buffers. Decode streams every weight once
// per token; with 4 KiB pages each page of that stream costs a TLB miss, so a
// buffer of at least one huge page gets its own mapping, aligned to 2 MiB and
// offered to the kernel's transparent huge pages (advice only: where THP is
// off the pages stay 4 KiB). Smaller buffers come from malloc. Either way the
// buffer is zeroed, and so its pages exist once the call returns.
#include <cstddef>

namespace tplm::cpu {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// `bytes` of zeroed memory aligned to 64 bytes (2 MiB when bytes >= one huge
// page). Throws Error when the host has no memory for it.
void* alloc_host(size_t bytes);

// Frees memory from alloc_host; nullptr is a no-op.
void free_host(void* p);

}  // namespace tplm::cpu
