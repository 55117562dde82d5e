// virtio-blk constants and the device configuration layout (virtio 1.2, 5.2).
#pragma once

#include <cstdint>

namespace vmkit::blk {

inline constexpr uint64_t kSectorSize = 512;
inline constexpr uint64_t kSectorShift = 9;
inline constexpr size_t kIdBytes = 20;

// Feature bits.
inline constexpr uint64_t kFeatureSizeMax = uint64_t{1} << 1;
inline constexpr uint64_t kFeatureSegMax = uint64_t{1} << 2;
inline constexpr uint64_t kFeatureRo = uint64_t{1} << 5;
inline constexpr uint64_t kFeatureBlkSize = uint64_t{1} << 6;
inline constexpr uint64_t kFeatureFlush = uint64_t{1} << 9;
inline constexpr uint64_t kFeatureTopology = uint64_t{1} << 10;
inline constexpr uint64_t kFeatureMq = uint64_t{1} << 12;
inline constexpr uint64_t kFeatureDiscard = uint64_t{1} << 13;
inline constexpr uint64_t kFeatureWriteZeroes = uint64_t{1} << 14;

// Request types.
inline constexpr uint32_t kTypeIn = 0;
inline constexpr uint32_t kTypeOut = 1;
inline constexpr uint32_t kTypeFlush = 4;
inline constexpr uint32_t kTypeGetId = 8;
inline constexpr uint32_t kTypeGetLifetime = 10;
inline constexpr uint32_t kTypeDiscard = 11;
inline constexpr uint32_t kTypeWriteZeroes = 13;
inline constexpr uint32_t kTypeSecureErase = 14;

// Status byte values.
inline constexpr uint8_t kStatusOk = 0;
inline constexpr uint8_t kStatusIoErr = 1;
inline constexpr uint8_t kStatusUnsupp = 2;

inline constexpr uint32_t kDiscardFlagUnmap = 1;

struct RequestHeader {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};
static_assert(sizeof(RequestHeader) == 16);

struct DiscardSegment {
  uint64_t sector;
  uint32_t num_sectors;
  uint32_t flags;
};
static_assert(sizeof(DiscardSegment) == 16);

#pragma pack(push, 1)
struct Config {
  uint64_t capacity;
  uint32_t size_max;
  uint32_t seg_max;
  uint16_t cylinders;
  uint8_t heads;
  uint8_t sectors;
  uint32_t blk_size;
  uint8_t physical_block_exp;
  uint8_t alignment_offset;
  uint16_t min_io_size;
  uint32_t opt_io_size;
  uint8_t writeback;
  uint8_t unused0;
  uint16_t num_queues;
  uint32_t max_discard_sectors;
  uint32_t max_discard_seg;
  uint32_t discard_sector_alignment;
  uint32_t max_write_zeroes_sectors;
  uint32_t max_write_zeroes_seg;
  uint8_t write_zeroes_may_unmap;
  uint8_t unused1[3];
  uint32_t max_secure_erase_sectors;
  uint32_t max_secure_erase_seg;
  uint32_t secure_erase_sector_alignment;
};
#pragma pack(pop)
static_assert(sizeof(Config) == 72);

}  // namespace vmkit::blk
