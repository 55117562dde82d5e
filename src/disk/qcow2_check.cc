// Qcow2Image::check: recounts every reference from the metadata (header, L1 and L2 tables of the
// active image and of internal snapshots, refcount structures) and compares with the stored
// refcounts, like `qemu-img check`. Stored < counted is corruption (a cluster could be handed out
// twice); stored > counted is a leak (wasted space only). COPIED flags must match refcount == 1.
// With `repair`, refcounts are set to the counted values and COPIED flags fixed.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "base/checked.h"
#include "disk/qcow2_image.h"

namespace vmkit {

using namespace qcow2;

namespace {

constexpr size_t kMaxMessages = 100;

struct Counter {
  uint64_t cluster_bits;
  std::vector<uint32_t> refs;           // clusters inside the file
  std::map<uint64_t, uint32_t> beyond;  // references past the end of the file
  Qcow2CheckResult* result;

  void message(std::string m) {
    if (result->messages.size() < kMaxMessages) result->messages.push_back(std::move(m));
  }
  void add(uint64_t offset, uint64_t len, const char* what) {
    if (len == 0) return;
    uint64_t first = offset >> cluster_bits;
    uint64_t last = (offset + len - 1) >> cluster_bits;
    for (uint64_t c = first; c <= last; ++c) {
      if (c < refs.size()) {
        if (refs[c] < UINT32_MAX) ++refs[c];
      } else {
        if (beyond[c]++ == 0) {
          ++result->corruptions;
          message(fmt::format("ERROR {} at offset {:#x} lies beyond the end of the file", what,
                              c << cluster_bits));
        }
      }
    }
  }
};

}  // namespace

Result<Qcow2CheckResult> Qcow2Image::check(bool repair) {
  if (repair && read_only()) return Error("cannot repair a read-only image", EROFS);
  if (repair && header_.has_bitmaps) {
    // Bitmap clusters are not counted here: "fixing" them as leaks would corrupt the image.
    return Error(
        "image has persistent dirty bitmaps, which vmkit does not account for; "
        "repair it with qemu-img check -r",
        ENOTSUP);
  }
  std::lock_guard guard(lock_);
  Qcow2CheckResult result;
  const uint64_t cs = cluster_size_;
  const uint64_t file_size = TRY(file_.size());
  Counter counter{cluster_bits_, {}, {}, &result};
  counter.refs.resize(align_up(std::max(file_size, refcounts_->image_end()), cs) >> cluster_bits_);

  // Every L2 entry reached from the active L1 (copied_check) or from a snapshot's L1.
  struct Ref {
    uint64_t table;  // L2 table offset, or 0 for an L1 entry
    uint64_t index;
    uint64_t host;
  };
  std::vector<Ref> copied_refs;
  auto walk_l1 = [&](const std::vector<uint64_t>& l1, bool active) -> Status {
    for (size_t i = 0; i < l1.size(); ++i) {
      uint64_t l2 = l1[i] & kOffsetMask;
      if (l2 == 0) continue;
      if (l2 % cs != 0) {
        ++result.corruptions;
        counter.message(fmt::format("ERROR L2 table {:#x} is not cluster-aligned", l2));
        continue;
      }
      counter.add(l2, cs, "L2 table");
      if (l2 >= file_size) continue;
      if (active) copied_refs.push_back({0, i, l2});
      uint8_t* table = TRY(l2_cache_->get(l2));
      std::vector<uint64_t> entries(header_.l2_entries());
      for (size_t j = 0; j < entries.size(); ++j) entries[j] = load_be64(table + 8 * j);
      for (size_t j = 0; j < entries.size(); ++j) {
        ClusterMapping m = decode_l2_entry(entries[j], cluster_bits_, header_.version);
        if (m.kind == ClusterKind::kCompressed) {
          counter.add(m.host_offset & ~511ull, m.compressed_size + (m.host_offset & 511),
                      "compressed cluster");
          if (active) ++result.allocated_clusters;
        } else if (m.kind == ClusterKind::kNormal || m.preallocated_zero) {
          if (m.host_offset % cs != 0) {
            ++result.corruptions;
            counter.message(
                fmt::format("ERROR data cluster {:#x} is not cluster-aligned", m.host_offset));
            continue;
          }
          counter.add(m.host_offset, cs, "data cluster");
          if (active) {
            copied_refs.push_back({l2, j, m.host_offset});
            if (m.kind == ClusterKind::kNormal) ++result.allocated_clusters;
          }
        }
      }
    }
    return {};
  };

  counter.add(0, cs, "header");
  counter.add(header_.l1_table_offset, l1_.size() * 8, "L1 table");
  TRY(walk_l1(l1_, true));
  counter.add(refcounts_->table_offset(), uint64_t{refcounts_->table_clusters()} * cs,
              "refcount table");
  for (uint64_t block : refcounts_->table()) {
    if (block != 0) counter.add(block, cs, "refcount block");
  }
  // Internal snapshots: their table and every L1/L2/data cluster they reference.
  if (header_.nb_snapshots > 0) {
    uint64_t off = header_.snapshots_offset;
    for (uint32_t s = 0; s < header_.nb_snapshots; ++s) {
      uint8_t fixed[40];
      TRY(file_.read(fixed, sizeof(fixed), off));
      uint64_t l1_off = load_be64(fixed);
      uint32_t l1_size = load_be32(fixed + 8);
      uint64_t len = 40ull + load_be32(fixed + 36) + load_be16(fixed + 12) + load_be16(fixed + 14);
      off += align_up(len, 8);
      if (uint64_t{l1_size} * 8 > kMaxL1Bytes || l1_off % cs != 0 ||
          !range_within(l1_off, uint64_t{l1_size} * 8, file_size)) {
        ++result.corruptions;
        counter.message(fmt::format("ERROR snapshot {} has an invalid L1 table", s));
        continue;
      }
      counter.add(l1_off, uint64_t{l1_size} * 8, "snapshot L1 table");
      std::vector<uint8_t> raw(uint64_t{l1_size} * 8);
      TRY(file_.read(raw.data(), raw.size(), l1_off));
      std::vector<uint64_t> l1(l1_size);
      for (size_t i = 0; i < l1.size(); ++i) l1[i] = load_be64(raw.data() + 8 * i);
      TRY(walk_l1(l1, false));
    }
    counter.add(header_.snapshots_offset, off - header_.snapshots_offset, "snapshot table");
  }

  // Compare.
  uint64_t highest = 0;
  for (uint64_t c = 0; c < counter.refs.size(); ++c) {
    uint64_t stored = TRY(refcounts_->get(c));
    uint64_t counted = counter.refs[c];
    if (stored > 0 || counted > 0) highest = c;
    if (stored == counted) continue;
    bool corruption = stored < counted;
    if (corruption) {
      ++result.corruptions;
    } else {
      ++result.leaks;
    }
    counter.message(fmt::format("{} cluster {} refcount={} reference={}",
                                corruption ? "ERROR" : "Leaked", c, stored, counted));
    if (repair) {
      if (refcounts_->set(c, counted).ok()) {
        ++(corruption ? result.corruptions_fixed : result.leaks_fixed);
      }
    }
  }
  // COPIED flags of the active tables must say "refcount is exactly one".
  for (const Ref& r : copied_refs) {
    uint64_t rc = TRY(refcounts_->get(r.host >> cluster_bits_));
    bool want = rc == 1;
    if (r.table == 0) {
      bool has = l1_[r.index] & kOflagCopied;
      if (has == want) continue;
      ++result.corruptions;
      counter.message(
          fmt::format("ERROR OFLAG_COPIED L2 cluster: l1_index={} refcount={}", r.index, rc));
      if (repair) {
        l1_[r.index] = want ? (l1_[r.index] | kOflagCopied) : (l1_[r.index] & ~kOflagCopied);
        l1_dirty_.push_back(static_cast<uint32_t>(r.index));
        ++result.corruptions_fixed;
      }
      continue;
    }
    uint8_t* table = TRY(l2_cache_->get(r.table));
    uint64_t entry = load_be64(table + 8 * r.index);
    bool has = entry & kOflagCopied;
    if (has == want) continue;
    ++result.corruptions;
    counter.message(
        fmt::format("ERROR OFLAG_COPIED data cluster: l2_entry={:#x} refcount={}", entry, rc));
    if (repair) {
      store_be64(table + 8 * r.index, want ? (entry | kOflagCopied) : (entry & ~kOflagCopied));
      l2_cache_->mark_dirty(r.table);
      ++result.corruptions_fixed;
    }
  }
  result.total_clusters = align_up(size_.load(), cs) >> cluster_bits_;
  result.image_end_offset = (highest + 1) << cluster_bits_;
  if (repair) {
    TRY(write_metadata());
    TRY(file_.sync());
  }
  return result;
}

}  // namespace vmkit
