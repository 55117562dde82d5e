#include "disk/qcow2_refcount.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/checked.h"
#include "disk/qcow2_format.h"

namespace vmkit::qcow2 {

Refcounts::Refcounts(const ImageFile& file, uint32_t cluster_bits, uint32_t refcount_order,
                     size_t cache_tables)
    : file_(file),
      cluster_bits_(cluster_bits),
      order_(refcount_order),
      block_shift_(cluster_bits + 3 - refcount_order),
      cache_(file, size_t{1} << cluster_bits, cache_tables) {}

uint64_t Refcounts::max_value() const {
  return order_ == 6 ? UINT64_MAX : (1ull << (1u << order_)) - 1;
}

uint64_t Refcounts::read_entry(const uint8_t* b, uint64_t i, uint32_t order) {
  switch (order) {
    case 0:
    case 1:
    case 2: {
      uint32_t bits = 1u << order;
      uint64_t bit = i * bits;
      return (b[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
    }
    case 3:
      return b[i];
    case 4:
      return load_be16(b + 2 * i);
    case 5:
      return load_be32(b + 4 * i);
    default:
      return load_be64(b + 8 * i);
  }
}

void Refcounts::write_entry(uint8_t* b, uint64_t i, uint32_t order, uint64_t v) {
  switch (order) {
    case 0:
    case 1:
    case 2: {
      uint32_t bits = 1u << order;
      uint64_t bit = i * bits;
      auto mask = static_cast<uint8_t>(((1u << bits) - 1) << (bit % 8));
      b[bit / 8] = static_cast<uint8_t>((b[bit / 8] & ~mask) | ((v << (bit % 8)) & mask));
      break;
    }
    case 3:
      b[i] = static_cast<uint8_t>(v);
      break;
    case 4:
      b[2 * i] = static_cast<uint8_t>(v >> 8);
      b[2 * i + 1] = static_cast<uint8_t>(v);
      break;
    case 5:
      store_be32(b + 4 * i, static_cast<uint32_t>(v));
      break;
    default:
      store_be64(b + 8 * i, v);
  }
}

Status Refcounts::load(uint64_t table_offset, uint32_t table_clusters, uint64_t file_end,
                       std::function<bool(uint64_t)> reserved) {
  reserved_ = std::move(reserved);
  table_offset_ = table_offset;
  table_clusters_ = table_clusters;
  uint64_t cs = 1ull << cluster_bits_;
  end_ = align_up(file_end, cs);
  std::vector<uint8_t> raw(uint64_t{table_clusters} * cs);
  TRY(file_.read(raw.data(), raw.size(), table_offset));
  table_.resize(raw.size() / 8);
  for (size_t i = 0; i < table_.size(); ++i) {
    uint64_t e = load_be64(raw.data() + 8 * i);
    uint64_t off = e & ~511ull;
    if (off == 0) {
      table_[i] = 0;
      continue;
    }
    if (off % cs != 0 || off < cs || off >= end_ ||
        (off >= table_offset && off < table_offset + raw.size()) ||
        reserved_(off >> cluster_bits_)) {
      return Error(fmt::format("invalid qcow2 image: refcount block {} at offset {:#x} is "
                               "misaligned, outside the file or overlaps other metadata",
                               i, off),
                   EINVAL);
    }
    table_[i] = off;
    block_clusters_.insert(off >> cluster_bits_);
  }
  return {};
}

bool Refcounts::is_refcount_metadata(uint64_t cluster) const {
  uint64_t first = table_offset_ >> cluster_bits_;
  if (cluster >= first && cluster < first + table_clusters_) return true;
  return block_clusters_.count(cluster) != 0;
}

Result<uint8_t*> Refcounts::block_for(uint64_t cluster, bool create) {
  uint64_t b = cluster >> block_shift_;
  if (b >= table_.size() || table_[b] == 0) {
    if (!create) return static_cast<uint8_t*>(nullptr);
    TRY(ensure_block(b));
  }
  return cache_.get(table_[b]);
}

Result<uint64_t> Refcounts::get(uint64_t cluster) {
  uint8_t* block = TRY(block_for(cluster, false));
  if (!block) return uint64_t{0};
  return read_entry(block, cluster & (block_entries() - 1), order_);
}

Status Refcounts::set(uint64_t cluster, uint64_t value) {
  if (value > max_value()) {
    return Error(
        fmt::format("refcount {} exceeds the image's {}-bit refcounts", value, 1u << order_), EIO);
  }
  uint8_t* block = TRY(block_for(cluster, true));
  write_entry(block, cluster & (block_entries() - 1), order_, value);
  cache_.mark_dirty(table_[cluster >> block_shift_]);
  if (value == 0 && cluster < free_hint_) free_hint_ = cluster;
  return {};
}

Result<uint64_t> Refcounts::decrement(uint64_t cluster) {
  uint64_t rc = TRY(get(cluster));
  if (rc == 0) {
    return Error(
        fmt::format("refcount of cluster {:#x} would drop below zero", cluster << cluster_bits_),
        EIO);
  }
  TRY(set(cluster, rc - 1));
  return rc - 1;
}

Status Refcounts::ensure_block(uint64_t b) {
  if (b >= table_.size()) {
    if (growing_) return Error("refcount table growth did not cover its own allocation", EIO);
    TRY(grow_table(b + 1));
  }
  if (table_[b] != 0) return {};
  // A range without a block holds only free clusters: the block describes itself from the first
  // one that is not reserved.
  uint64_t first = b << block_shift_;
  uint64_t cluster = first;
  while (cluster < first + block_entries() &&
         (reserved_(cluster) || is_refcount_metadata(cluster))) {
    ++cluster;
  }
  if (cluster == first + block_entries()) return Error("no room for a refcount block", EIO);
  uint64_t offset = cluster << cluster_bits_;
  uint8_t* block = TRY(cache_.get_fresh(offset));
  write_entry(block, cluster - first, order_, 1);
  TRY(file_.write(block, size_t{1} << cluster_bits_, offset));
  TRY(file_.sync());
  table_[b] = offset;
  block_clusters_.insert(cluster);
  end_ = std::max<uint64_t>(end_, offset + (1ull << cluster_bits_));
  if (!growing_) {
    uint8_t entry[8];
    store_be64(entry, offset);
    TRY(file_.write(entry, 8, table_offset_ + 8 * b));
  }
  return {};
}

Status Refcounts::grow_table(uint64_t min_entries) {
  const uint64_t cs = 1ull << cluster_bits_;
  const uint64_t per_cluster = cs / 8;
  // Cover the wanted entry, twice the old size, and the image end plus room for the new table
  // and the blocks it may need, so that allocating the table never needs a bigger one.
  uint64_t end_clusters = end_ >> cluster_bits_;
  uint64_t entries = std::max<uint64_t>(min_entries, 2 * table_.size());
  for (int i = 0; i < 3; ++i) {
    uint64_t clusters = align_up(entries, per_cluster) / per_cluster;
    uint64_t cover = ((end_clusters + clusters + 2 * entries + 64) >> block_shift_) + 2;
    entries = std::max(entries, cover);
  }
  entries = align_up(entries, per_cluster);
  uint64_t new_clusters = entries / per_cluster;
  if (new_clusters * cs > kMaxRefTableBytes) {
    return Error(
        "refcount table would exceed 8 MiB (image too large for its cluster size and "
        "refcount width)",
        EFBIG);
  }
  uint64_t old_offset = table_offset_;
  uint32_t old_clusters = table_clusters_;
  table_.resize(entries, 0);
  growing_ = true;
  auto new_offset = allocate(new_clusters);
  growing_ = false;
  if (!new_offset.ok()) return new_offset.error();
  // Blocks whose refcounts changed must be on disk before the new table points at them.
  TRY(cache_.write_dirty());
  std::vector<uint8_t> raw(new_clusters * cs, 0);
  for (size_t i = 0; i < table_.size(); ++i) store_be64(raw.data() + 8 * i, table_[i]);
  TRY(file_.write(raw.data(), raw.size(), *new_offset));
  TRY(file_.sync());
  uint8_t hdr[12];
  store_be64(hdr, *new_offset);
  store_be32(hdr + 8, static_cast<uint32_t>(new_clusters));
  TRY(file_.write(hdr, sizeof(hdr), kOffRefTable));
  TRY(file_.sync());
  table_offset_ = *new_offset;
  table_clusters_ = static_cast<uint32_t>(new_clusters);
  for (uint64_t c = 0; c < old_clusters; ++c) TRY(set((old_offset >> cluster_bits_) + c, 0));
  return {};
}

// Finds `count` free clusters from the hint; ranges without a refcount block count as free.
uint64_t Refcounts::find_free_run(uint64_t count, Result<uint64_t>& error_out) {
  uint64_t pos = std::max<uint64_t>(free_hint_, 1);
  uint64_t run_start = pos, run = 0;
  while (run < count) {
    uint64_t b = pos >> block_shift_;
    uint64_t limit = (b + 1) << block_shift_;
    if (b >= table_.size() || table_[b] == 0) {
      // No block: every cluster in the range is free except reserved ones.
      for (; pos < limit && run < count; ++pos) {
        if (reserved_(pos) || is_refcount_metadata(pos)) {
          run = 0;
          continue;
        }
        if (run++ == 0) run_start = pos;
      }
      continue;
    }
    auto block = cache_.get(table_[b]);
    if (!block.ok()) {
      error_out = block.error();
      return 0;
    }
    for (; pos < limit && run < count; ++pos) {
      bool free = read_entry(*block, pos & (block_entries() - 1), order_) == 0 && !reserved_(pos) &&
                  !is_refcount_metadata(pos);
      if (!free) {
        run = 0;
      } else if (run++ == 0) {
        run_start = pos;
      }
    }
  }
  return run_start;
}

Result<uint64_t> Refcounts::allocate(uint64_t count) {
  if (count == 0) return Error("allocating zero clusters", EINVAL);
  // Ranges of the run that have no refcount block get new blocks placed right after the run
  // (inside the same free stretch), so the run stays contiguous whatever its length.
  uint64_t extra = 0;
  uint64_t start = 0;
  std::vector<uint64_t> missing;
  for (int attempt = 0;; ++attempt) {
    if (attempt > 64) return Error("cannot place refcount blocks", EIO);
    Result<uint64_t> err = uint64_t{0};
    start = find_free_run(count + extra, err);
    if (!err.ok()) return err.error();
    missing.clear();
    uint64_t first_b = start >> block_shift_;
    uint64_t last_b = (start + count + extra - 1) >> block_shift_;
    for (uint64_t b = first_b; b <= last_b; ++b) {
      if (b >= table_.size() || table_[b] == 0) missing.push_back(b);
    }
    if (missing.size() <= extra) break;
    extra = missing.size();
  }
  if (!missing.empty()) {
    if (missing.back() >= table_.size()) {
      if (growing_) return Error("refcount table growth did not cover its own allocation", EIO);
      TRY(grow_table(missing.back() + 1));
      return allocate(count);  // the layout changed: start over
    }
    const uint64_t cs = 1ull << cluster_bits_;
    for (size_t i = 0; i < missing.size(); ++i) {
      uint64_t cluster = start + count + i;
      TRY(cache_.get_fresh(cluster << cluster_bits_));
      cache_.mark_dirty(cluster << cluster_bits_);
      table_[missing[i]] = cluster << cluster_bits_;
      block_clusters_.insert(cluster);
    }
    for (size_t i = 0; i < missing.size(); ++i) TRY(set(start + count + i, 1));
    // New blocks reach the disk before the table entries that point at them.
    TRY(cache_.write_dirty());
    TRY(file_.sync());
    if (!growing_) {
      for (uint64_t b : missing) {
        uint8_t entry[8];
        store_be64(entry, table_[b]);
        TRY(file_.write(entry, 8, table_offset_ + 8 * b));
      }
    }
    end_ = std::max<uint64_t>(end_, (start + count + missing.size()) * cs);
  }
  uint64_t hint_before = free_hint_;
  for (uint64_t c = start; c < start + count; ++c) TRY(set(c, 1));
  // Free clusters skipped before `start` stay findable.
  free_hint_ = start > std::max<uint64_t>(hint_before, 1) ? hint_before : start + count;
  end_ = std::max(end_, (start + count) << cluster_bits_);
  return start << cluster_bits_;
}

}  // namespace vmkit::qcow2
