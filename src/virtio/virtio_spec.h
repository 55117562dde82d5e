// Constants and ring layouts from the virtio 1.2 specification (little-endian; vmkit only runs
// on little-endian hosts, asserted below).
#pragma once

#include <bit>
#include <cstdint>

namespace vmkit::virtio {

static_assert(std::endian::native == std::endian::little, "virtio rings are little-endian");

// Device types (section 5).
inline constexpr uint32_t kDeviceNet = 1;
inline constexpr uint32_t kDeviceBlock = 2;
inline constexpr uint32_t kDeviceConsole = 3;
inline constexpr uint32_t kDeviceEntropy = 4;

// Device status bits (2.1).
inline constexpr uint8_t kStatusAcknowledge = 1;
inline constexpr uint8_t kStatusDriver = 2;
inline constexpr uint8_t kStatusDriverOk = 4;
inline constexpr uint8_t kStatusFeaturesOk = 8;
inline constexpr uint8_t kStatusNeedsReset = 0x40;
inline constexpr uint8_t kStatusFailed = 0x80;

// Reserved feature bits (6).
inline constexpr uint64_t kFeatureIndirectDesc = uint64_t{1} << 28;
inline constexpr uint64_t kFeatureEventIdx = uint64_t{1} << 29;
inline constexpr uint64_t kFeatureVersion1 = uint64_t{1} << 32;
inline constexpr uint64_t kFeatureAccessPlatform = uint64_t{1} << 33;
inline constexpr uint64_t kFeatureRingPacked = uint64_t{1} << 34;

// Split virtqueue (2.7).
inline constexpr uint16_t kMaxQueueSize = 32768;
inline constexpr uint16_t kDescFlagNext = 1;
inline constexpr uint16_t kDescFlagWrite = 2;
inline constexpr uint16_t kDescFlagIndirect = 4;
inline constexpr uint16_t kAvailFlagNoInterrupt = 1;
inline constexpr uint16_t kUsedFlagNoNotify = 1;

struct VirtqDesc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(VirtqDesc) == 16);

struct VirtqUsedElem {
  uint32_t id;
  uint32_t len;
};
static_assert(sizeof(VirtqUsedElem) == 8);

// Ring part sizes and alignments (2.7, table "Virtqueue Part").
inline constexpr uint64_t kDescAlign = 16;
inline constexpr uint64_t kAvailAlign = 2;
inline constexpr uint64_t kUsedAlign = 4;
constexpr uint64_t desc_table_size(uint16_t size) {
  return 16ull * size;
}
constexpr uint64_t avail_ring_size(uint16_t size) {
  return 6ull + 2ull * size;
}
constexpr uint64_t used_ring_size(uint16_t size) {
  return 6ull + 8ull * size;
}

// virtio-pci (4.1).
inline constexpr uint16_t kPciVendorId = 0x1af4;
inline constexpr uint16_t kPciDeviceIdBase = 0x1040;
inline constexpr uint16_t kMsiNoVector = 0xffff;
inline constexpr uint8_t kPciCapCommonCfg = 1;
inline constexpr uint8_t kPciCapNotifyCfg = 2;
inline constexpr uint8_t kPciCapIsrCfg = 3;
inline constexpr uint8_t kPciCapDeviceCfg = 4;
inline constexpr uint8_t kPciCapPciCfg = 5;
inline constexpr uint8_t kIsrQueue = 1;
inline constexpr uint8_t kIsrConfig = 2;

}  // namespace vmkit::virtio
