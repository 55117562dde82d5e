#include "arch/x86_64/e820.h"

#include <algorithm>

#include "arch/x86_64/layout.h"

namespace vmkit::x86 {

uint64_t low_ram_end(uint64_t memory_size) {
  return std::min(memory_size, kLowRamMax);
}

std::vector<GuestRegionSpec> ram_regions(uint64_t memory_size) {
  std::vector<GuestRegionSpec> regions;
  uint64_t low = low_ram_end(memory_size);
  regions.push_back({GuestAddress(0), low});
  if (memory_size > low) regions.push_back({GuestAddress(kFourGiB), memory_size - low});
  return regions;
}

std::vector<E820Entry> build_e820(uint64_t memory_size) {
  uint64_t low = low_ram_end(memory_size);
  std::vector<E820Entry> map;
  map.push_back({0, kEbdaStart, kE820Ram});
  map.push_back({kEbdaStart, 0xa0000 - kEbdaStart, kE820Reserved});
  map.push_back({kAcpiStart, kBiosEnd - kAcpiStart, kE820Reserved});
  if (low > kHighMemoryStart) map.push_back({kHighMemoryStart, low - kHighMemoryStart, kE820Ram});
  if (memory_size > low) map.push_back({kFourGiB, memory_size - low, kE820Ram});
  return map;
}

}  // namespace vmkit::x86
