#include "disk/qcow2_format.h"

#include <fmt/format.h>

#include "base/checked.h"

namespace vmkit::qcow2 {

namespace {

Error bad(const std::string& what) {
  return Error("invalid qcow2 image: " + what, EINVAL);
}

// A table [offset, offset + bytes) must be cluster-aligned, outside the header cluster and
// inside the file.
Status check_table(const char* name, uint64_t offset, uint64_t bytes, uint64_t cluster_size,
                   uint64_t file_size) {
  if (offset % cluster_size != 0) {
    return bad(fmt::format("{} offset {:#x} is not cluster-aligned", name, offset));
  }
  if (offset < cluster_size) {
    return bad(fmt::format("{} at offset {:#x} overlaps the header", name, offset));
  }
  if (!range_within(offset, bytes, file_size)) {
    return bad(fmt::format("{} at offset {:#x} ({} bytes) lies beyond the end of the file ({})",
                           name, offset, bytes, file_size));
  }
  return {};
}

bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) {
  return a < b + blen && b < a + alen;
}

const char* feature_name(uint64_t bit) {
  switch (bit) {
    case 0:
      return "dirty bit";
    case 1:
      return "corrupt bit";
    case 2:
      return "external data file";
    case 3:
      return "compression type";
    case 4:
      return "extended L2 entries";
    default:
      return nullptr;
  }
}

}  // namespace

uint64_t l1_entries_for(uint64_t size, uint32_t cluster_bits) {
  uint32_t shift = cluster_bits + (cluster_bits - 3);  // bytes covered by one L2 table
  uint64_t per_l2 = 1ull << shift;
  return size / per_l2 + (size % per_l2 != 0 ? 1 : 0);
}

Result<Header> parse_header(std::span<const uint8_t> data, uint64_t file_size) {
  if (data.size() < kV2HeaderLength) return bad("file too small for a qcow2 header");
  const uint8_t* p = data.data();
  if (load_be32(p) != kMagic) return bad("no qcow2 magic");
  Header h;
  h.version = load_be32(p + 4);
  if (h.version != 2 && h.version != 3) {
    return bad(fmt::format("unsupported qcow2 version {}", h.version));
  }
  h.backing_file_offset = load_be64(p + 8);
  h.backing_file_size = load_be32(p + 16);
  h.cluster_bits = load_be32(p + 20);
  h.size = load_be64(p + 24);
  h.crypt_method = load_be32(p + 32);
  h.l1_size = load_be32(p + 36);
  h.l1_table_offset = load_be64(p + 40);
  h.refcount_table_offset = load_be64(p + 48);
  h.refcount_table_clusters = load_be32(p + 56);
  h.nb_snapshots = load_be32(p + 60);
  h.snapshots_offset = load_be64(p + 64);
  if (h.cluster_bits < kMinClusterBits || h.cluster_bits > kMaxClusterBits) {
    return bad(fmt::format("cluster size 2^{} outside 512 bytes..2 MiB", h.cluster_bits));
  }
  const uint64_t cs = h.cluster_size();
  if (h.version == 2) {
    h.header_length = kV2HeaderLength;
    h.refcount_order = 4;
  } else {
    if (data.size() < kV3HeaderLength) return bad("file too small for a version 3 header");
    h.incompatible_features = load_be64(p + 72);
    h.compatible_features = load_be64(p + 80);
    h.autoclear_features = load_be64(p + 88);
    h.refcount_order = load_be32(p + 96);
    h.header_length = load_be32(p + 100);
    if (h.header_length < kV3HeaderLength || h.header_length > cs) {
      return bad(fmt::format("header length {} out of range", h.header_length));
    }
    if (h.header_length > data.size()) return bad("header extends beyond the end of the file");
    uint8_t ct = h.header_length > 104 ? p[104] : 0;
    if (h.incompatible_features & kIncompatCompression) {
      if (ct == 0) return bad("compression type bit set but compression type is zlib");
    } else if (ct != 0) {
      return bad("compression type set without the compression type bit");
    }
    if (ct > 1) return bad(fmt::format("unknown compression type {}", ct));
    h.compression_type = static_cast<CompressionType>(ct);
  }
  if (h.refcount_order > 6) return bad(fmt::format("refcount order {} > 6", h.refcount_order));
  if (h.size > (1ull << 61)) return bad(fmt::format("virtual size {} too large", h.size));

  // L1 table.
  uint64_t needed = l1_entries_for(h.size, h.cluster_bits);
  if (uint64_t{h.l1_size} * 8 > kMaxL1Bytes) {
    return bad(fmt::format("L1 table of {} entries exceeds 32 MiB", h.l1_size));
  }
  if (h.l1_size < needed) {
    return bad(fmt::format("L1 table of {} entries too small for {} bytes", h.l1_size, h.size));
  }
  uint64_t l1_bytes = uint64_t{h.l1_size} * 8;
  if (h.l1_size > 0) TRY(check_table("L1 table", h.l1_table_offset, l1_bytes, cs, file_size));

  // Refcount table.
  if (h.refcount_table_clusters == 0) return bad("refcount table has no clusters");
  auto rt_bytes = checked_mul<uint64_t>(h.refcount_table_clusters, cs);
  if (!rt_bytes || *rt_bytes > kMaxRefTableBytes) {
    return bad(
        fmt::format("refcount table of {} clusters exceeds 8 MiB", h.refcount_table_clusters));
  }
  TRY(check_table("refcount table", h.refcount_table_offset, *rt_bytes, cs, file_size));
  if (h.l1_size > 0 && overlaps(h.l1_table_offset, l1_bytes, h.refcount_table_offset, *rt_bytes)) {
    return bad("L1 table and refcount table overlap");
  }

  // Snapshot table: only located here (its entries are read by the checker).
  if (h.nb_snapshots > 65536) return bad(fmt::format("{} snapshots", h.nb_snapshots));
  if (h.nb_snapshots > 0) {
    TRY(check_table("snapshot table", h.snapshots_offset, 40ull * h.nb_snapshots, cs, file_size));
  }

  // Backing file name.
  uint64_t ext_end = std::min<uint64_t>(cs, data.size());
  if (h.backing_file_offset != 0) {
    if (h.backing_file_size > kMaxBackingNameLength) {
      return bad(fmt::format("backing file name of {} bytes is too long", h.backing_file_size));
    }
    if (h.backing_file_offset > cs ||
        !range_within(h.backing_file_offset, h.backing_file_size, data.size())) {
      return bad(fmt::format("backing file name at offset {:#x} outside the header cluster",
                             h.backing_file_offset));
    }
    h.backing_file.assign(
        reinterpret_cast<const char*>(p + h.backing_file_offset),  // SAFETY: bytes as chars
        h.backing_file_size);
    if (h.backing_file.find('\0') != std::string::npos) {
      return bad("backing file name contains a NUL byte");
    }
    ext_end = std::min<uint64_t>(ext_end, h.backing_file_offset);
  }

  // Header extensions.
  uint64_t off = h.header_length;
  while (off + 8 <= ext_end) {
    uint32_t type = load_be32(p + off);
    uint32_t len = load_be32(p + off + 4);
    if (type == kExtEnd) break;
    if (!range_within(off + 8, len, ext_end)) {
      return bad(fmt::format("header extension {:#x} of {} bytes overflows the header", type, len));
    }
    const uint8_t* d = p + off + 8;
    switch (type) {
      case kExtBackingFormat:
        if (len > 15) return bad(fmt::format("backing format name of {} bytes", len));
        h.backing_format.assign(reinterpret_cast<const char*>(d), len);  // SAFETY: bytes as chars
        if (h.backing_format.find('\0') != std::string::npos)
          h.backing_format.resize(h.backing_format.find('\0'));
        break;
      case kExtFeatureTable:
        for (uint32_t i = 0; i + 48 <= len; i += 48) {
          uint8_t kind = d[i];
          uint8_t bit = d[i + 1];
          if (kind == 0 && bit < 64 && ((h.incompatible_features >> bit) & 1) &&
              !((kIncompatKnown >> bit) & 1)) {
            const char* name = reinterpret_cast<const char*>(d + i + 2);  // SAFETY: bytes as chars
            h.unknown_incompatible_names.emplace_back(name, strnlen(name, 46));
          }
        }
        break;
      case kExtBitmaps:
        h.has_bitmaps = true;
        break;
      default:
        break;  // unknown extensions are ignored (and preserved: vmkit never rewrites them)
    }
    off += 8 + align_up(len, 8);
  }
  return h;
}

Status check_supported(const Header& h, bool writable) {
  if (h.crypt_method != 0) {
    return Error(
        fmt::format("encrypted qcow2 images are not supported (crypt_method {})", h.crypt_method),
        ENOTSUP);
  }
  uint64_t unknown = h.incompatible_features & ~kIncompatKnown;
  if (unknown != 0) {
    std::string names;
    for (const auto& n : h.unknown_incompatible_names) names += (names.empty() ? "" : ", ") + n;
    for (uint64_t bit = 0; bit < 64 && names.empty(); ++bit) {
      if ((unknown >> bit) & 1) names += fmt::format("{}bit {}", names.empty() ? "" : ", ", bit);
    }
    return Error("unsupported qcow2 feature(s): " + names, ENOTSUP);
  }
  if (h.incompatible_features & kIncompatDataFile) {
    return Error("qcow2 images with an external data file are not supported", ENOTSUP);
  }
  if (h.incompatible_features & kIncompatExtendedL2) {
    return Error("qcow2 images with extended L2 entries (subclusters) are not supported", ENOTSUP);
  }
  if (writable && h.corrupt()) {
    return Error(
        "qcow2 image is marked corrupt; open it read-only or repair it with "
        "'vmkit disk check --repair'",
        EROFS);
  }
  if (writable && h.nb_snapshots > 0) {
    return Error(fmt::format("qcow2 image has {} internal snapshot(s): internal snapshots are not "
                             "supported, such images can only be opened read-only",
                             h.nb_snapshots),
                 EROFS);
  }
  return {};
}

Result<std::vector<uint8_t>> serialize_header(const Header& h) {
  std::vector<uint8_t> out(h.cluster_size(), 0);
  uint8_t* p = out.data();
  store_be32(p, kMagic);
  store_be32(p + 4, h.version);
  store_be32(p + 20, h.cluster_bits);
  store_be64(p + 24, h.size);
  store_be32(p + 32, h.crypt_method);
  store_be32(p + 36, h.l1_size);
  store_be64(p + 40, h.l1_table_offset);
  store_be64(p + 48, h.refcount_table_offset);
  store_be32(p + 56, h.refcount_table_clusters);
  store_be32(p + 60, h.nb_snapshots);
  store_be64(p + 64, h.snapshots_offset);
  uint64_t off = kV2HeaderLength;
  if (h.version >= 3) {
    store_be64(p + 72, h.incompatible_features);
    store_be64(p + 80, h.compatible_features);
    store_be64(p + 88, h.autoclear_features);
    store_be32(p + 96, h.refcount_order);
    store_be32(p + 100, kV3HeaderLengthWithCompression);
    p[104] = static_cast<uint8_t>(h.compression_type);
    off = kV3HeaderLengthWithCompression;
  }
  auto put_ext = [&](uint32_t type, const void* data, uint32_t len) -> Status {
    if (off + 8 + align_up(len, 8) + 8 > out.size()) return Error("qcow2 header does not fit");
    store_be32(p + off, type);
    store_be32(p + off + 4, len);
    std::memcpy(p + off + 8, data, len);
    off += 8 + align_up(len, 8);
    return {};
  };
  if (!h.backing_format.empty()) {
    TRY(put_ext(kExtBackingFormat, h.backing_format.data(),
                static_cast<uint32_t>(h.backing_format.size())));
  }
  if (h.version >= 3) {
    // The feature name table, as QEMU writes it, so other tools can name what they see.
    std::vector<uint8_t> table;
    auto add = [&](uint8_t kind, uint8_t bit, const char* name) {
      uint8_t entry[48] = {};
      entry[0] = kind;
      entry[1] = bit;
      std::strncpy(reinterpret_cast<char*>(entry + 2), name, 46);  // SAFETY: bytes as chars
      table.insert(table.end(), entry, entry + 48);
    };
    for (uint8_t bit = 0; bit < 5; ++bit) add(0, bit, feature_name(bit));
    add(1, 0, "lazy refcounts");
    add(2, 0, "bitmaps");
    add(2, 1, "raw external data");
    TRY(put_ext(kExtFeatureTable, table.data(), static_cast<uint32_t>(table.size())));
  }
  off += 8;  // end-of-extensions marker (zeros)
  if (!h.backing_file.empty()) {
    if (h.backing_file.size() > kMaxBackingNameLength) {
      return Error("backing file name longer than 1023 bytes", ENAMETOOLONG);
    }
    if (off + h.backing_file.size() > out.size()) return Error("qcow2 header does not fit");
    store_be64(p + 8, off);
    store_be32(p + 16, static_cast<uint32_t>(h.backing_file.size()));
    std::memcpy(p + off, h.backing_file.data(), h.backing_file.size());
  }
  return out;
}

ClusterMapping decode_l2_entry(uint64_t entry, uint32_t cluster_bits, uint32_t version) {
  ClusterMapping m;
  if (entry & kOflagCompressed) {
    uint32_t x = 62 - (cluster_bits - 8);
    uint64_t offset = entry & ((1ull << x) - 1);
    uint64_t sectors = ((entry >> x) & ((1ull << (cluster_bits - 8)) - 1)) + 1;
    m.kind = ClusterKind::kCompressed;
    m.host_offset = offset;
    m.compressed_size = sectors * 512 - (offset & 511);
    return m;
  }
  m.host_offset = entry & kOffsetMask;
  m.copied = entry & kOflagCopied;
  if (version >= 3 && (entry & kOflagZero)) {
    m.kind = ClusterKind::kZero;
    m.preallocated_zero = m.host_offset != 0;
  } else if (m.host_offset == 0) {
    m.kind = ClusterKind::kUnallocated;
  } else {
    m.kind = ClusterKind::kNormal;
  }
  return m;
}

}  // namespace vmkit::qcow2
