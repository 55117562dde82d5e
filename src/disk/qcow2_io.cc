// Qcow2Image data paths: read, write (in place or allocating with copy-on-write), discard and
// write-zeroes. See qcow2_image.h for the ordering rules.
#include <fmt/format.h>

#include <algorithm>

#include "base/checked.h"
#include "base/log.h"
#include "disk/iov_util.h"
#include "disk/qcow2_compress.h"
#include "disk/qcow2_image.h"
#include "disk/uring_queue.h"

namespace vmkit {

using namespace qcow2;

// A piece of a request with one mapping; for kNormal, `m.host_offset` is the byte offset of
// `guest` in the file.
struct Qcow2Image::Extent {
  uint64_t guest = 0;
  uint64_t len = 0;
  ClusterMapping m;
};

namespace {

// Counts data I/O running outside the metadata lock (frees wait for it to drain).
class UnlockedIo {
 public:
  explicit UnlockedIo(std::atomic<int>& counter) : counter_(counter) { ++counter_; }
  ~UnlockedIo() { --counter_; }
  UnlockedIo(const UnlockedIo&) = delete;
  UnlockedIo& operator=(const UnlockedIo&) = delete;

 private:
  std::atomic<int>& counter_;
};

bool can_merge(const ClusterMapping& a, uint64_t a_end_host, const ClusterMapping& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case ClusterKind::kNormal:
      return a_end_host == b.host_offset && a.copied == b.copied;
    case ClusterKind::kZero:
    case ClusterKind::kUnallocated:
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<std::unique_ptr<DiskQueue>> Qcow2Image::open_queue(unsigned depth) {
  auto queue = UringDiskQueue::create(*this, file_, depth, this);
  if (queue.ok()) return std::unique_ptr<DiskQueue>(std::move(queue).value());
  LOG_WARN("{}: io_uring unavailable ({}); using synchronous I/O", file_.path(),
           queue.error().message());
  return DiskImage::open_queue(depth);
}

bool Qcow2Image::map_for_ring(IoOp op, uint64_t offset, uint64_t length, uint64_t* file_offset) {
  const bool writing = op == IoOp::kWrite;
  if (length == 0 || (writing && read_only()) || !range_within(offset, length, size_.load())) {
    return false;  // the synchronous path reports it
  }
  std::lock_guard guard(lock_);
  if (writing && corrupt_) return false;
  uint64_t next = 0;
  for (uint64_t pos = offset; pos < offset + length;) {
    auto m = lookup(pos >> cluster_bits_);  // an error is reported by the synchronous path
    if (!m.ok() || m->kind != ClusterKind::kNormal || (writing && !m->copied)) return false;
    uint64_t in = pos & (cluster_size_ - 1);
    uint64_t host = m->host_offset + in;
    if (pos == offset) {
      *file_offset = host;
    } else if (host != next) {
      return false;  // not contiguous in the file: the synchronous path splits it
    }
    uint64_t n = std::min(cluster_size_ - in, offset + length - pos);
    next = host + n;
    pos += n;
  }
  // Held until the transfer completed: apply_pending_frees() leaves clusters alone meanwhile.
  ++unlocked_io_;
  return true;
}

void Qcow2Image::release_ring_mapping() {
  --unlocked_io_;
}

Status Qcow2Image::read(uint64_t offset, std::span<const iovec> iov) {
  uint64_t len = iov_length(iov);
  TRY(check_request(offset, len, false));
  std::unique_lock guard(lock_);
  if ((offset & (cluster_size_ - 1)) + len <= cluster_size_) {
    // Fast path: the request lies in one cluster (no extent list).
    Extent e{offset, len, TRY(lookup(offset >> cluster_bits_))};
    if (e.m.kind == ClusterKind::kNormal) e.m.host_offset += offset & (cluster_size_ - 1);
    UnlockedIo io(unlocked_io_);
    guard.unlock();
    return read_extent(e, iov, 0);
  }
  std::vector<Extent> extents;
  for (uint64_t pos = offset; pos < offset + len;) {
    uint64_t in = pos & (cluster_size_ - 1);
    uint64_t n = std::min(cluster_size_ - in, offset + len - pos);
    ClusterMapping m = TRY(lookup(pos >> cluster_bits_));
    if (m.kind == ClusterKind::kNormal) m.host_offset += in;
    if (!extents.empty() &&
        can_merge(extents.back().m, extents.back().m.host_offset + extents.back().len, m)) {
      extents.back().len += n;
    } else {
      extents.push_back({pos, n, m});
    }
    pos += n;
  }
  UnlockedIo io(unlocked_io_);
  guard.unlock();
  for (const Extent& e : extents) TRY(read_extent(e, iov, e.guest - offset));
  return {};
}

Status Qcow2Image::read_extent(const Extent& e, std::span<const iovec> iov, uint64_t iov_pos) {
  switch (e.m.kind) {
    case ClusterKind::kNormal: {
      if (iov_pos == 0 && e.len == iov_length(iov)) return file_.readv(iov, e.m.host_offset);
      std::vector<iovec> slice;
      iov_slice(iov, iov_pos, e.len, slice);
      return file_.readv(slice, e.m.host_offset);
    }
    case ClusterKind::kZero:
      iov_zero(iov, iov_pos, e.len);
      return {};
    case ClusterKind::kUnallocated:
      return read_backing(e.guest, iov, iov_pos, e.len);
    case ClusterKind::kCompressed: {
      AlignedBuffer cluster(cluster_size_);
      TRY(read_compressed(e.m, cluster.data()));
      iov_from_buf(iov, iov_pos, cluster.data() + (e.guest & (cluster_size_ - 1)), e.len);
      return {};
    }
  }
  return {};
}

Status Qcow2Image::read_backing(uint64_t guest_offset, std::span<const iovec> iov, uint64_t iov_pos,
                                uint64_t len) {
  uint64_t from_backing = 0;
  if (backing_) {
    uint64_t bsize = backing_->virtual_size();
    if (guest_offset < bsize) from_backing = std::min(len, bsize - guest_offset);
  }
  if (from_backing > 0) {
    std::vector<iovec> slice;
    iov_slice(iov, iov_pos, from_backing, slice);
    TRY(backing_->read(guest_offset, slice));
  }
  iov_zero(iov, iov_pos + from_backing, len - from_backing);
  return {};
}

Status Qcow2Image::read_compressed(const ClusterMapping& m, uint8_t* cluster) {
  std::vector<uint8_t> in(m.compressed_size);
  TRY(file_.read(in.data(), in.size(), m.host_offset));
  Status s =
      decompress_cluster(header_.compression_type, in.data(), in.size(), cluster, cluster_size_);
  if (!s.ok()) {
    LOG_GUEST_ERROR("{}: compressed cluster at {:#x}: {}", file_.path(), m.host_offset,
                    s.error().message());
  }
  return s;
}

// Fills `out` with bytes [from, from + len) of guest cluster `guest_cluster` as it reads now.
Status Qcow2Image::cow_fill(uint64_t guest_cluster, const ClusterMapping& old, uint64_t from,
                            uint64_t len, uint8_t* out) {
  switch (old.kind) {
    case ClusterKind::kZero:
      std::fill_n(out, len, 0);
      return {};
    case ClusterKind::kUnallocated: {
      iovec v{out, len};
      return read_backing((guest_cluster << cluster_bits_) + from, {&v, 1}, 0, len);
    }
    case ClusterKind::kNormal:
      return file_.read(out, len, old.host_offset + from);
    case ClusterKind::kCompressed: {
      AlignedBuffer cluster(cluster_size_);
      TRY(read_compressed(old, cluster.data()));
      std::copy_n(cluster.data() + from, len, out);
      return {};
    }
  }
  return {};
}

Status Qcow2Image::write(uint64_t offset, std::span<const iovec> iov) {
  uint64_t len = iov_length(iov);
  TRY(check_request(offset, len, true));
  uint64_t pos = 0;
  if ((offset & (cluster_size_ - 1)) + len <= cluster_size_) {
    // Fast path: one cluster, already allocated and not shared: write in place.
    std::unique_lock guard(lock_);
    if (corrupt_) return Error("qcow2 image is corrupt; refusing writes", EIO);
    ClusterMapping m = TRY(lookup(offset >> cluster_bits_));
    if (m.kind == ClusterKind::kNormal && m.copied) {
      UnlockedIo io(unlocked_io_);
      guard.unlock();
      return file_.writev(iov, m.host_offset + (offset & (cluster_size_ - 1)));
    }
  }
  while (pos < len) {
    std::vector<Extent> extents;
    std::unique_lock guard(lock_);
    if (corrupt_) return Error("qcow2 image is corrupt; refusing writes", EIO);
    uint64_t p = pos;
    while (p < len) {
      uint64_t g = offset + p;
      uint64_t in = g & (cluster_size_ - 1);
      uint64_t n = std::min(cluster_size_ - in, len - p);
      ClusterMapping m = TRY(lookup(g >> cluster_bits_));
      if (m.kind != ClusterKind::kNormal || !m.copied) break;
      m.host_offset += in;
      if (!extents.empty() &&
          can_merge(extents.back().m, extents.back().m.host_offset + extents.back().len, m)) {
        extents.back().len += n;
      } else {
        extents.push_back({g, n, m});
      }
      p += n;
    }
    if (p == pos) {  // the next cluster needs allocation: done under the lock
      uint64_t written = 0;
      TRY(allocating_write(offset + pos, iov, pos, len - pos, written));
      pos += written;
      continue;
    }
    UnlockedIo io(unlocked_io_);
    guard.unlock();
    for (const Extent& e : extents) {
      std::vector<iovec> slice;
      iov_slice(iov, e.guest - offset, e.len, slice);
      TRY(file_.writev(slice, e.m.host_offset));
    }
    pos = p;
  }
  return {};
}

// Writes up to `len` bytes at guest `offset` into newly allocated clusters (a run of guest
// clusters in one L2 table that all need allocation), or into a preallocated zero cluster.
Status Qcow2Image::allocating_write(uint64_t offset, std::span<const iovec> iov, uint64_t iov_pos,
                                    uint64_t len, uint64_t& written) {
  constexpr uint64_t kMaxRun = 256;
  const uint64_t gc0 = offset >> cluster_bits_;
  const uint64_t head = offset & (cluster_size_ - 1);
  const uint64_t l2_shift = cluster_bits_ - 3;
  std::vector<ClusterMapping> old;
  old.push_back(TRY(lookup(gc0)));
  const bool reuse = old[0].kind == ClusterKind::kZero && old[0].preallocated_zero && old[0].copied;
  uint64_t data_len = std::min(len, cluster_size_ - head);
  while (!reuse && data_len < len && old.size() < kMaxRun &&
         ((gc0 + old.size()) >> l2_shift) == (gc0 >> l2_shift)) {
    ClusterMapping m = TRY(lookup(gc0 + old.size()));
    if ((m.kind == ClusterKind::kNormal && m.copied) ||
        (m.kind == ClusterKind::kZero && m.preallocated_zero && m.copied)) {
      break;
    }
    old.push_back(m);
    data_len = std::min(len, data_len + cluster_size_);
  }
  const uint64_t n = old.size();
  // Make sure the L2 table exists before taking the data clusters (it comes first in the file).
  TRY(l2_table_for(gc0 >> l2_shift, true));
  const uint64_t file_size = TRY(file_.size());
  const uint64_t host = reuse ? old[0].host_offset : TRY(refcounts_->allocate(n));
  const uint64_t tail = (n << cluster_bits_) - head - data_len;

  // Clusters past the end of the file read as zeros already: skip writing zero head/tail.
  const bool fresh = !reuse && host >= file_size;
  auto reads_zero = [&](uint64_t gc, const ClusterMapping& m) {
    if (m.kind == ClusterKind::kZero) return true;
    if (m.kind != ClusterKind::kUnallocated) return false;
    return !backing_ || (gc << cluster_bits_) >= backing_->virtual_size();
  };
  const bool write_head = head > 0 && !(fresh && reads_zero(gc0, old[0]));
  const bool write_tail = tail > 0 && !(fresh && reads_zero(gc0 + n - 1, old[n - 1]));
  AlignedBuffer head_buf(write_head ? head : 0), tail_buf(write_tail ? tail : 0);
  if (write_head) TRY(cow_fill(gc0, old[0], 0, head, head_buf.data()));
  if (write_tail) {
    TRY(cow_fill(gc0 + n - 1, old[n - 1], cluster_size_ - tail, tail, tail_buf.data()));
  }
  std::vector<iovec> pieces;
  if (write_head) pieces.push_back(head_buf.as_iovec());
  iov_slice(iov, iov_pos, data_len, pieces);
  if (write_tail) pieces.push_back(tail_buf.as_iovec());
  TRY(file_.writev(pieces, host + (write_head ? 0 : head)));

  // Only now may the L2 entries point at the data.
  for (uint64_t i = 0; i < n; ++i) {
    TRY(set_l2_entry(gc0 + i, (host + (i << cluster_bits_)) | kOflagCopied));
    if (!reuse) free_later(old[i]);
  }
  written = data_len;
  return {};
}

Status Qcow2Image::zero_clusters(uint64_t first, uint64_t count, bool discard, bool may_unmap) {
  const bool v3 = header_.version >= 3;
  const uint64_t l2_shift = cluster_bits_ - 3;
  for (uint64_t gc = first; gc < first + count; ++gc) {
    uint64_t l2 = TRY(l2_table_for(gc >> l2_shift, false));
    bool need_zero_flag = v3 && backing_;  // unallocated would show the backing file
    if (l2 == 0 && !need_zero_flag) {
      gc |= header_.l2_entries() - 1;  // the whole L2 range already reads as zeros
      continue;
    }
    ClusterMapping m = TRY(lookup(gc));
    uint64_t entry = 0;
    if (discard) {
      entry = need_zero_flag ? kOflagZero : 0;
    } else if (!v3) {
      entry = 0;  // only reached without a backing file: unallocated reads as zeros
    } else if (!may_unmap && m.kind == ClusterKind::kNormal && m.copied) {
      entry = m.host_offset | kOflagCopied | kOflagZero;  // keep the allocation
    } else if (!may_unmap && m.preallocated_zero && m.copied) {
      continue;
    } else {
      entry = kOflagZero;
    }
    bool unchanged = (entry == 0 && m.kind == ClusterKind::kUnallocated) ||
                     (entry == kOflagZero && m.kind == ClusterKind::kZero && !m.preallocated_zero);
    if (unchanged) continue;
    TRY(set_l2_entry(gc, entry));
    if ((entry & kOffsetMask) == 0) free_later(m);
  }
  if (pending_free_.size() > 4096) {  // a guest that discards a lot but never flushes
    TRY(write_metadata());
    TRY(file_.sync());
    TRY(apply_pending_frees());
  }
  return {};
}

Status Qcow2Image::discard(uint64_t offset, uint64_t length) {
  TRY(check_request(offset, length, true));
  // Only whole clusters are discarded (a partial one at the very end of the disk counts).
  uint64_t end = offset + length;
  uint64_t first = align_up(offset, cluster_size_) >> cluster_bits_;
  uint64_t last =
      (end == size_.load() ? align_up(end, cluster_size_) : align_down(end, cluster_size_)) >>
      cluster_bits_;
  if (last <= first) return {};
  std::lock_guard guard(lock_);
  if (corrupt_) return Error("qcow2 image is corrupt; refusing writes", EIO);
  return zero_clusters(first, last - first, true, true);
}

Status Qcow2Image::write_zeroes(uint64_t offset, uint64_t length, bool may_unmap) {
  TRY(check_request(offset, length, true));
  uint64_t end = offset + length;
  uint64_t first = align_up(offset, cluster_size_);
  uint64_t last =
      end == size_.load() ? align_up(end, cluster_size_) : align_down(end, cluster_size_);
  // Metadata-only zeroing needs v3 zero flags, or no backing file (unallocated reads zeros).
  bool metadata = header_.version >= 3 || !backing_;
  AlignedBuffer zeros(std::min<uint64_t>(length, cluster_size_));
  auto write_zero_range = [&](uint64_t from, uint64_t to) -> Status {
    for (uint64_t pos = from; pos < to;) {
      uint64_t n = std::min<uint64_t>(to - pos, zeros.size());
      iovec v{zeros.data(), n};
      TRY(write(pos, {&v, 1}));
      pos += n;
    }
    return {};
  };
  if (!metadata || last <= first) return write_zero_range(offset, end);
  TRY(write_zero_range(offset, first));
  {
    std::lock_guard guard(lock_);
    if (corrupt_) return Error("qcow2 image is corrupt; refusing writes", EIO);
    TRY(zero_clusters(first >> cluster_bits_, (last - first) >> cluster_bits_, false, may_unmap));
  }
  return write_zero_range(std::min(last, end), end);
}

}  // namespace vmkit
