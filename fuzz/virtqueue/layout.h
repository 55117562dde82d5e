// The input format shared by the virtqueue and virtio-blk fuzzers:
//   byte 0: bits 0-2 queue size exponent (size = 1 << n), bit 3 EVENT_IDX, bit 4 INDIRECT_DESC,
//           bit 5 use byte 1 as a raw queue size (may be invalid); bits 6-7 both set: the
//           virtio-pci transport target instead (fuzz_transport.h)
//   byte 1: raw queue size / fuzzer-specific flags
//   rest:   guest memory from address 0: descriptor table, then the available ring, then the
//           used ring (packed, see ring_layout), then buffers; bytes past 64 KiB go to a
//           second RAM region at 0x20000 (a hole lies between).
#pragma once

#include <cstdint>
#include <cstring>

#include "base/checked.h"
#include "memory/guest_memory.h"
#include "virtio/virtio_spec.h"
#include "virtio/virtqueue.h"

namespace vmkit::fuzz {

inline constexpr uint64_t kRegion0 = 0x10000;
inline constexpr uint64_t kRegion1Base = 0x20000;
inline constexpr uint64_t kRegion1 = 0x4000;
inline constexpr size_t kHeaderBytes = 2;

inline GuestMemory& fuzz_memory() {
  static GuestMemory mem =
      GuestMemory::create({{GuestAddress(0), kRegion0}, {GuestAddress(kRegion1Base), kRegion1}})
          .value();
  return mem;
}

// Zeroes guest memory and copies the input's memory image into it.
inline void load_memory(GuestMemory& mem, const uint8_t* data, size_t size) {
  (void)mem.fill(GuestAddress(0), 0, kRegion0);
  (void)mem.fill(GuestAddress(kRegion1Base), 0, kRegion1);
  size_t first = size < kRegion0 ? size : kRegion0;
  (void)mem.write(GuestAddress(0), std::span(data, first));
  if (size > first) {
    size_t rest = size - first < kRegion1 ? size - first : kRegion1;
    (void)mem.write(GuestAddress(kRegion1Base), std::span(data + first, rest));
  }
}

inline uint16_t queue_size(uint8_t b0, uint8_t b1) {
  return (b0 & 0x20) ? b1 : static_cast<uint16_t>(1u << (b0 & 7));
}

inline uint64_t ring_features(uint8_t b0) {
  uint64_t f = virtio::kFeatureVersion1;
  if (b0 & 0x08) f |= virtio::kFeatureEventIdx;
  if (b0 & 0x10) f |= virtio::kFeatureIndirectDesc;
  return f;
}

// Descriptor table at 0, available ring right after it, used ring after that (4-aligned).
inline QueueLayout ring_layout(uint16_t size) {
  uint64_t avail = 16ull * size;
  uint64_t used = align_up(avail + virtio::avail_ring_size(size), 4);
  return QueueLayout{size, GuestAddress(0), GuestAddress(avail), GuestAddress(used)};
}

}  // namespace vmkit::fuzz
