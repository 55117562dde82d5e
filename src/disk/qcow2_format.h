// The qcow2 on-disk format (QEMU docs/interop/qcow2.txt): constants, big-endian accessors, the
// header with its extensions, and the decoding of L1/L2 entries. Pure functions: the header
// parser is unit-tested and fuzzed on its own.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace vmkit::qcow2 {

inline constexpr uint32_t kMagic = 0x514649fb;  // "QFI\xfb"
inline constexpr uint32_t kMinClusterBits = 9;
inline constexpr uint32_t kMaxClusterBits = 21;            // 2 MiB, QEMU's limit
inline constexpr uint64_t kMaxL1Bytes = 32ull << 20;       // QEMU's QCOW_MAX_L1_SIZE
inline constexpr uint64_t kMaxRefTableBytes = 8ull << 20;  // QEMU's QCOW_MAX_REFTABLE_SIZE
inline constexpr uint32_t kMaxBackingNameLength = 1023;
inline constexpr uint32_t kV2HeaderLength = 72;
inline constexpr uint32_t kV3HeaderLength = 104;
inline constexpr uint32_t kV3HeaderLengthWithCompression = 112;

// Incompatible feature bits.
inline constexpr uint64_t kIncompatDirty = 1ull << 0;
inline constexpr uint64_t kIncompatCorrupt = 1ull << 1;
inline constexpr uint64_t kIncompatDataFile = 1ull << 2;
inline constexpr uint64_t kIncompatCompression = 1ull << 3;
inline constexpr uint64_t kIncompatExtendedL2 = 1ull << 4;
inline constexpr uint64_t kIncompatKnown = kIncompatDirty | kIncompatCorrupt | kIncompatDataFile |
                                           kIncompatCompression | kIncompatExtendedL2;
// Compatible feature bits.
inline constexpr uint64_t kCompatLazyRefcounts = 1ull << 0;

// Header extension types.
inline constexpr uint32_t kExtEnd = 0;
inline constexpr uint32_t kExtBackingFormat = 0xe2792aca;
inline constexpr uint32_t kExtFeatureTable = 0x6803f857;
inline constexpr uint32_t kExtBitmaps = 0x23852875;
inline constexpr uint32_t kExtEncryption = 0x0537be77;
inline constexpr uint32_t kExtDataFile = 0x44415441;

// Header field offsets that vmkit rewrites in place.
inline constexpr uint64_t kOffSize = 24;
inline constexpr uint64_t kOffL1Size = 36;    // l1_size (4) + l1_table_offset (8) are adjacent
inline constexpr uint64_t kOffRefTable = 48;  // offset (8) + clusters (4) are adjacent
inline constexpr uint64_t kOffIncompat = 72;
inline constexpr uint64_t kOffAutoclear = 88;

// L1/L2 entry bits.
inline constexpr uint64_t kOflagCopied = 1ull << 63;
inline constexpr uint64_t kOflagCompressed = 1ull << 62;
inline constexpr uint64_t kOflagZero = 1ull << 0;
inline constexpr uint64_t kOffsetMask = 0x00fffffffffffe00ull;  // bits 9-55
inline constexpr uint64_t kL1ReservedMask = 0x7f000000000001ffull;

enum class CompressionType : uint8_t { kZlib = 0, kZstd = 1 };

inline uint16_t load_be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t load_be32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline uint64_t load_be64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}
inline void store_be64(uint8_t* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}

struct Header {
  uint32_t version = 3;
  uint64_t backing_file_offset = 0;
  uint32_t backing_file_size = 0;
  uint32_t cluster_bits = 16;
  uint64_t size = 0;
  uint32_t crypt_method = 0;
  uint32_t l1_size = 0;
  uint64_t l1_table_offset = 0;
  uint64_t refcount_table_offset = 0;
  uint32_t refcount_table_clusters = 0;
  uint32_t nb_snapshots = 0;
  uint64_t snapshots_offset = 0;
  uint64_t incompatible_features = 0;
  uint64_t compatible_features = 0;
  uint64_t autoclear_features = 0;
  uint32_t refcount_order = 4;
  uint32_t header_length = kV3HeaderLength;
  CompressionType compression_type = CompressionType::kZlib;

  // From the header extensions and the backing file name.
  std::string backing_file;
  std::string backing_format;
  std::vector<std::string> unknown_incompatible_names;  // for the error message
  bool has_bitmaps = false;

  uint64_t cluster_size() const { return 1ull << cluster_bits; }
  uint32_t refcount_bits() const { return 1u << refcount_order; }
  uint64_t l2_entries() const { return cluster_size() / 8; }
  bool dirty() const { return incompatible_features & kIncompatDirty; }
  bool corrupt() const { return incompatible_features & kIncompatCorrupt; }
  bool lazy_refcounts() const { return compatible_features & kCompatLazyRefcounts; }
};

// Parses and validates the header from the start of the file (`data` holds at least the first
// cluster, or the whole file if shorter). `file_size` bounds every table. Checks only what makes
// the header self-consistent; policy refusals (features vmkit does not implement) are in
// check_supported(), so `vmkit disk info` can still describe such images.
Result<Header> parse_header(std::span<const uint8_t> data, uint64_t file_size);

// Refuses features vmkit does not implement (encryption, external data files, extended L2,
// unknown incompatible bits), and writes to corrupt images or images with internal snapshots.
Status check_supported(const Header& header, bool writable);

// Number of L1 entries needed for `size` bytes with `cluster_bits`.
uint64_t l1_entries_for(uint64_t size, uint32_t cluster_bits);

// Serializes a header (for creation): fields, then extensions (backing format, feature names),
// then the backing file name. Returns the first cluster's bytes. Fails if it does not fit.
Result<std::vector<uint8_t>> serialize_header(const Header& header);

// What a guest cluster maps to, decoded from an L2 entry.
enum class ClusterKind { kUnallocated, kZero, kNormal, kCompressed };

struct ClusterMapping {
  ClusterKind kind = ClusterKind::kUnallocated;
  uint64_t host_offset = 0;        // kNormal: cluster offset; kCompressed: byte offset
  uint64_t compressed_size = 0;    // kCompressed: bytes to read (upper bound)
  bool copied = false;             // refcount is exactly one: writable in place
  bool preallocated_zero = false;  // kZero with a host cluster kept
};

ClusterMapping decode_l2_entry(uint64_t entry, uint32_t cluster_bits, uint32_t version);

}  // namespace vmkit::qcow2
