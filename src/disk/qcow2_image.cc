// Qcow2Image: opening, the cluster mapping, metadata write-back, flush, resize, preallocation.
// The data paths are in qcow2_io.cc, the consistency check in qcow2_check.cc.
#include "disk/qcow2_image.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/checked.h"
#include "base/log.h"

namespace vmkit {

using namespace qcow2;

Qcow2Image::Qcow2Image(ImageFile file, Header header, std::unique_ptr<DiskImage> backing)
    : file_(std::move(file)),
      header_(std::move(header)),
      backing_(std::move(backing)),
      cluster_bits_(header_.cluster_bits),
      cluster_size_(header_.cluster_size()),
      size_(header_.size) {}

Result<std::unique_ptr<Qcow2Image>> Qcow2Image::open(ImageFile file, Header header,
                                                     std::unique_ptr<DiskImage> backing,
                                                     bool for_repair, size_t l2_cache_bytes) {
  TRY(check_supported(header, file.writable() && !for_repair));
  std::unique_ptr<Qcow2Image> image(
      new Qcow2Image(std::move(file), std::move(header), std::move(backing)));
  TRY(image->load(l2_cache_bytes));
  return image;
}

Qcow2Image::~Qcow2Image() {
  if (read_only() || !loaded_) return;  // nothing to write back if opening failed
  Status s = flush();
  if (s.ok()) {
    std::lock_guard guard(lock_);
    s = write_metadata();  // the refcount decrements applied by the flush above
    if (s.ok()) s = file_.sync();
  }
  if (!s.ok()) LOG_ERROR("{}: closing qcow2 image: {}", file_.path(), s.error().message());
}

Status Qcow2Image::load(size_t l2_cache_bytes) {
  const uint64_t cs = cluster_size_;
  uint64_t file_size = TRY(file_.size());
  uint64_t file_end = align_up(file_size, cs);
  // L1 table: read whole, every entry checked before use.
  l1_.resize(header_.l1_size);
  if (!l1_.empty()) {
    std::vector<uint8_t> raw(l1_.size() * 8);
    TRY(file_.read(raw.data(), raw.size(), header_.l1_table_offset));
    uint64_t l1_end = header_.l1_table_offset + raw.size();
    uint64_t rt_begin = header_.refcount_table_offset;
    uint64_t rt_end = rt_begin + uint64_t{header_.refcount_table_clusters} * cs;
    for (size_t i = 0; i < l1_.size(); ++i) {
      uint64_t e = load_be64(raw.data() + 8 * i);
      uint64_t off = e & kOffsetMask;
      if (off != 0 &&
          (off % cs != 0 || off < cs || off >= file_end ||
           (off >= header_.l1_table_offset && off < l1_end) || (off >= rt_begin && off < rt_end))) {
        return Error(fmt::format("invalid qcow2 image: L2 table {} at offset {:#x} is misaligned, "
                                 "outside the file or overlaps other metadata",
                                 i, off),
                     EINVAL);
      }
      l1_[i] = e;
      if (off != 0) l2_clusters_.insert(off >> cluster_bits_);
    }
  }
  // The header, the L1 table and the L2 tables are never handed out, whatever refcounts say
  // (in a corrupt image they could read 0): the equivalent of QEMU's metadata overlap checks.
  auto reserved = [this](uint64_t c) {
    uint64_t first = header_.l1_table_offset >> cluster_bits_;
    uint64_t n = align_up(l1_.size() * 8, cluster_size_) >> cluster_bits_;
    return c == 0 || (n > 0 && c >= first && c < first + n) || l2_clusters_.count(c) != 0;
  };
  refcounts_ = std::make_unique<Refcounts>(file_, cluster_bits_, header_.refcount_order, 32);
  TRY(refcounts_->load(header_.refcount_table_offset, header_.refcount_table_clusters, file_size,
                       reserved));
  // Enough L2 tables to cover the whole disk, within the budget (at least 16 tables).
  uint64_t needed = l1_entries_for(header_.size, cluster_bits_);
  uint64_t max_tables = std::max<uint64_t>(16, l2_cache_bytes >> cluster_bits_);
  auto capacity = static_cast<size_t>(std::clamp<uint64_t>(needed, 16, max_tables));
  l2_cache_ = std::make_unique<TableCache>(file_, cs, capacity);
  l2_cache_->set_before_evict([this] { return evict_l2_tables(); });

  loaded_ = true;
  if (!file_.writable()) return {};
  if (header_.dirty()) {
    // Refcounts may be stale (lazy refcounts, or a crash of a writer that used them): rebuild
    // them from the L1/L2 tables before writing, as QEMU does, then clear the bit.
    LOG_INFO("{}: image was not closed cleanly; repairing refcounts", file_.path());
    auto result = TRY(check(true));
    if (result.corruptions > result.corruptions_fixed) {
      return Error("qcow2 image is dirty and its refcounts could not be repaired", EIO);
    }
    uint8_t v[8];
    header_.incompatible_features &= ~kIncompatDirty;
    store_be64(v, header_.incompatible_features);
    TRY(file_.write(v, 8, kOffIncompat));
    TRY(file_.sync());
  }
  if (header_.version >= 3 && header_.autoclear_features != 0) {
    // Autoclear features (persistent bitmaps) become stale once vmkit writes: clear them.
    uint8_t v[8] = {};
    TRY(file_.write(v, 8, kOffAutoclear));
    TRY(file_.sync());
    header_.autoclear_features = 0;
  }
  return {};
}

Status Qcow2Image::clear_corrupt_flag() {
  std::lock_guard guard(lock_);
  if (!header_.corrupt() || header_.version < 3) return {};
  header_.incompatible_features &= ~kIncompatCorrupt;
  uint8_t v[8];
  store_be64(v, header_.incompatible_features);
  TRY(file_.write(v, 8, kOffIncompat));
  return file_.sync();
}

Error Qcow2Image::corrupt(const std::string& what) {
  // Rate-limited: a hostile image can make every request hit this.
  LOG_GUEST_ERROR("{}: qcow2 metadata corrupt: {}", file_.path(), what);
  if (file_.writable() && !corrupt_ && header_.version >= 3) {
    // Mark the image corrupt so nothing writes to it again before a check (as QEMU does).
    uint8_t v[8];
    store_be64(v, header_.incompatible_features | kIncompatCorrupt);
    if (file_.write(v, 8, kOffIncompat).ok()) (void)file_.sync();
  }
  corrupt_ = true;
  return Error("qcow2 image is corrupt: " + what, EIO);
}

Status Qcow2Image::check_request(uint64_t offset, uint64_t length, bool writing) const {
  if (!range_within(offset, length, size_.load())) {
    return Error(fmt::format("request [{}, +{}) beyond the end of the disk ({})", offset, length,
                             size_.load()),
                 EINVAL);
  }
  if (writing && read_only()) return Error("image is read-only", EROFS);
  return {};
}

Status Qcow2Image::validate_mapping(const ClusterMapping& m) {
  // The allocator's end is the file's end at open (cluster-aligned) or beyond: no syscall here.
  uint64_t end = refcounts_->image_end();
  bool has_host =
      m.kind == ClusterKind::kNormal || m.kind == ClusterKind::kCompressed || m.preallocated_zero;
  if (!has_host) return {};
  uint64_t host = m.host_offset;
  bool aligned = m.kind == ClusterKind::kCompressed || host % cluster_size_ == 0;
  if (!aligned || host < cluster_size_ || host >= end) {
    return corrupt(
        fmt::format("data cluster at offset {:#x} is misaligned, in the header or "
                    "beyond the end of the file",
                    host));
  }
  return {};
}

Result<ClusterMapping> Qcow2Image::lookup(uint64_t guest_cluster) {
  uint64_t l1_index = guest_cluster >> (cluster_bits_ - 3);
  if (l1_index >= l1_.size()) return ClusterMapping{};
  uint64_t l2 = l1_[l1_index] & kOffsetMask;
  if (l2 == 0) return ClusterMapping{};
  uint8_t* table = TRY(l2_cache_->get(l2));
  uint64_t entry = load_be64(table + 8 * (guest_cluster & (header_.l2_entries() - 1)));
  ClusterMapping m = decode_l2_entry(entry, cluster_bits_, header_.version);
  TRY(validate_mapping(m));
  return m;
}

Result<uint64_t> Qcow2Image::l2_table_for(uint64_t l1_index, bool allocate) {
  if (l1_index >= l1_.size()) return corrupt("guest offset beyond the L1 table");
  uint64_t entry = l1_[l1_index];
  uint64_t offset = entry & kOffsetMask;
  if (offset != 0) {
    if (allocate && !(entry & kOflagCopied)) {
      return Error("L2 table is shared (internal snapshot): writing it is not supported", EIO);
    }
    return offset;
  }
  if (!allocate) return uint64_t{0};
  offset = TRY(refcounts_->allocate(1));
  TRY(l2_cache_->get_fresh(offset));
  l2_cache_->mark_dirty(offset);
  l1_[l1_index] = offset | kOflagCopied;
  l2_clusters_.insert(offset >> cluster_bits_);
  l1_dirty_.push_back(static_cast<uint32_t>(l1_index));
  return offset;
}

Status Qcow2Image::set_l2_entry(uint64_t guest_cluster, uint64_t entry) {
  uint64_t l2 = TRY(l2_table_for(guest_cluster >> (cluster_bits_ - 3), true));
  uint8_t* table = TRY(l2_cache_->get(l2));
  store_be64(table + 8 * (guest_cluster & (header_.l2_entries() - 1)), entry);
  l2_cache_->mark_dirty(l2);
  return {};
}

void Qcow2Image::free_later(const ClusterMapping& m) {
  if (m.kind == ClusterKind::kCompressed) {
    uint64_t first = m.host_offset >> cluster_bits_;
    uint64_t last = (m.host_offset + m.compressed_size - 1) >> cluster_bits_;
    for (uint64_t c = first; c <= last; ++c) pending_free_.push_back(c);
  } else if (m.kind == ClusterKind::kNormal || m.preallocated_zero) {
    pending_free_.push_back(m.host_offset >> cluster_bits_);
  }
}

Status Qcow2Image::write_l1() {
  if (l1_dirty_.empty()) return {};
  auto [lo, hi] = std::minmax_element(l1_dirty_.begin(), l1_dirty_.end());
  uint32_t first = *lo, last = *hi;
  std::vector<uint8_t> raw((last - first + 1) * size_t{8});
  for (uint32_t i = first; i <= last; ++i) store_be64(raw.data() + 8 * (i - first), l1_[i]);
  TRY(file_.write(raw.data(), raw.size(), header_.l1_table_offset + 8ull * first));
  l1_dirty_.clear();
  return {};
}

Status Qcow2Image::write_metadata() {
  if (refcounts_->any_dirty()) TRY(refcounts_->write_dirty());
  if (l2_cache_->any_dirty()) {
    TRY(file_.sync());  // data and refcounts before the L2 entries that point at them
    TRY(l2_cache_->write_dirty());
  }
  if (!l1_dirty_.empty()) {
    TRY(file_.sync());  // L2 tables before the L1 entries that point at them
    TRY(write_l1());
  }
  return {};
}

Status Qcow2Image::evict_l2_tables() {
  TRY(refcounts_->write_dirty());
  TRY(file_.sync());
  return l2_cache_->write_dirty();
}

Status Qcow2Image::apply_pending_frees() {
  // Data I/O that translated its clusters before they were freed may still be running.
  if (pending_free_.empty() || unlocked_io_.load() > 0) return {};
  std::sort(pending_free_.begin(), pending_free_.end());
  uint64_t run_start = 0, run_len = 0;
  auto punch = [&] {
    if (run_len > 0) {
      (void)file_.punch_hole(run_start << cluster_bits_, run_len << cluster_bits_);
    }
  };
  for (uint64_t c : pending_free_) {
    auto rc = refcounts_->decrement(c);
    if (!rc.ok()) {
      LOG_GUEST_ERROR("{}: {}", file_.path(), rc.error().message());
      continue;
    }
    if (*rc != 0) continue;
    if (run_len > 0 && c == run_start + run_len) {
      ++run_len;
    } else {
      punch();
      run_start = c;
      run_len = 1;
    }
  }
  punch();
  pending_free_.clear();
  return {};
}

Status Qcow2Image::flush() {
  if (read_only()) return {};
  {
    std::lock_guard guard(lock_);
    if (refcounts_->any_dirty() || l2_cache_->any_dirty() || !l1_dirty_.empty() ||
        !pending_free_.empty()) {
      TRY(write_metadata());
      TRY(file_.sync());
      return apply_pending_frees();
    }
  }
  return file_.sync();  // data only: no need to hold the lock
}

Status Qcow2Image::resize(uint64_t new_size) {
  if (read_only()) return Error("image is read-only", EROFS);
  std::lock_guard guard(lock_);
  if (new_size < size_.load()) return Error("shrinking qcow2 images is not supported", ENOTSUP);
  if (new_size > (1ull << 61)) return Error("size too large", EFBIG);
  TRY(write_metadata());
  TRY(file_.sync());
  uint64_t needed = l1_entries_for(new_size, cluster_bits_);
  if (needed > l1_.size()) {
    if (needed * 8 > kMaxL1Bytes) {
      return Error(fmt::format("{} bytes need an L1 table larger than 32 MiB with {}-byte clusters",
                               new_size, cluster_size_),
                   EFBIG);
    }
    uint64_t clusters = align_up(needed * 8, cluster_size_) >> cluster_bits_;
    uint64_t offset = TRY(refcounts_->allocate(clusters));
    TRY(refcounts_->write_dirty());
    std::vector<uint8_t> raw(clusters << cluster_bits_, 0);
    for (size_t i = 0; i < l1_.size(); ++i) store_be64(raw.data() + 8 * i, l1_[i]);
    TRY(file_.write(raw.data(), raw.size(), offset));
    TRY(file_.sync());
    uint8_t hdr[12];
    store_be32(hdr, static_cast<uint32_t>(needed));
    store_be64(hdr + 4, offset);
    TRY(file_.write(hdr, sizeof(hdr), kOffL1Size));
    TRY(file_.sync());
    uint64_t old_first = header_.l1_table_offset >> cluster_bits_;
    uint64_t old_clusters = align_up(l1_.size() * 8, cluster_size_) >> cluster_bits_;
    header_.l1_table_offset = offset;
    header_.l1_size = static_cast<uint32_t>(needed);
    l1_.resize(needed, 0);
    for (uint64_t c = 0; c < old_clusters; ++c) TRY(refcounts_->set(old_first + c, 0));
  }
  uint8_t v[8];
  store_be64(v, new_size);
  TRY(file_.write(v, 8, kOffSize));
  TRY(write_metadata());
  TRY(file_.sync());
  header_.size = new_size;
  size_.store(new_size);
  return {};
}

Status Qcow2Image::preallocate(Preallocation mode) {
  if (mode == Preallocation::kOff) return {};
  if (read_only()) return Error("image is read-only", EROFS);
  {
    std::lock_guard guard(lock_);
    const uint64_t per_l2 = header_.l2_entries();
    const uint64_t clusters = align_up(size_.load(), cluster_size_) >> cluster_bits_;
    std::vector<std::pair<uint64_t, uint64_t>> runs;  // data clusters: offset, bytes
    for (uint64_t gc = 0; gc < clusters; gc += per_l2) {
      uint64_t l2 = TRY(l2_table_for(gc / per_l2, true));
      uint64_t n = std::min(per_l2, clusters - gc);
      uint64_t host = TRY(refcounts_->allocate(n));
      runs.emplace_back(host, n << cluster_bits_);
      uint8_t* table = TRY(l2_cache_->get(l2));
      for (uint64_t i = 0; i < n; ++i) {
        if (load_be64(table + 8 * i) == 0) {
          store_be64(table + 8 * i, (host + (i << cluster_bits_)) | kOflagCopied);
        }
      }
      l2_cache_->mark_dirty(l2);
    }
    TRY(write_metadata());
    uint64_t end = refcounts_->image_end();
    uint64_t size = TRY(file_.size());
    if (size < end) TRY(file_.truncate(end));
    if (mode == Preallocation::kFalloc) TRY(file_.allocate(0, end));
    if (mode == Preallocation::kFull) {
      // Write real zeros over every data cluster.
      AlignedBuffer zeros(1 << 20);
      for (auto [host, bytes] : runs) {
        for (uint64_t done = 0; done < bytes; done += zeros.size()) {
          auto n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), bytes - done));
          TRY(file_.write(zeros.data(), n, host + done));
        }
      }
    }
  }
  return flush();
}

}  // namespace vmkit
