// A qcow2 (version 2 or 3) image as a DiskImage: L1/L2 mapping through an L2 table cache,
// refcounted allocation, copy-on-write from a backing image, zero and compressed clusters,
// discard and write-zeroes. Thread-safe: one metadata lock; data I/O to clusters that are
// already allocated (and reads) runs outside it. Its queues (open_queue) are io_uring queues:
// reads and writes that map to one contiguous run of allocated clusters go to the ring at their
// file offsets (RingMapper); the rest runs synchronously in the queue's thread.
//
// Write ordering (so that a crash at any point leaves at worst leaked clusters):
//  1. allocation raises refcounts first (in the refcount cache);
//  2. the guest data (with its copy-on-write head and tail) is written to the new cluster;
//  3. the L2 entry is updated in the L2 cache only after that write completed.
//  When metadata goes to the file (flush, or eviction of a dirty L2 table): dirty refcount
//  blocks are written, fdatasync, then dirty L2 tables, fdatasync, then dirty L1 entries; a
//  flush ends with fdatasync. So an L2 entry never reaches the disk before its data and its
//  refcount, and an L1 entry never before its L2 table.
//  Freeing (discard, overwritten compressed clusters) clears the L2 entry first; the refcount
//  decrement happens only after the next flush made the cleared entry stable, and only then may
//  the cluster be reused.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "disk/disk_image.h"
#include "disk/image_file.h"
#include "disk/qcow2_format.h"
#include "disk/qcow2_refcount.h"
#include "disk/qcow2_table_cache.h"
#include "disk/ring_mapper.h"

namespace vmkit {

struct Qcow2CheckResult {
  uint64_t corruptions = 0;
  uint64_t leaks = 0;
  uint64_t corruptions_fixed = 0;
  uint64_t leaks_fixed = 0;
  uint64_t allocated_clusters = 0;  // guest clusters with data
  uint64_t total_clusters = 0;      // guest clusters
  uint64_t image_end_offset = 0;
  std::vector<std::string> messages;  // one line per problem (capped)
};

enum class Preallocation { kOff, kMetadata, kFalloc, kFull };

class Qcow2Image final : public DiskImage, private RingMapper {
 public:
  // Opens the image in `file` whose header was parsed (and accepted by check_supported).
  // `backing` is the opened backing image, or null.
  // `for_repair` also opens images marked corrupt read-write (for check --repair).
  // `l2_cache_bytes` bounds the L2 table cache (it covers the whole disk up to that size).
  static Result<std::unique_ptr<Qcow2Image>> open(ImageFile file, qcow2::Header header,
                                                  std::unique_ptr<DiskImage> backing,
                                                  bool for_repair = false,
                                                  size_t l2_cache_bytes = kDefaultL2CacheBytes);
  static constexpr size_t kDefaultL2CacheBytes = 32u << 20;
  ~Qcow2Image() override;

  std::string format() const override { return "qcow2"; }
  uint64_t virtual_size() const override { return size_.load(); }
  bool read_only() const override { return !file_.writable(); }
  uint32_t discard_granularity() const override {
    return static_cast<uint32_t>(header_.cluster_size());
  }

  Status read(uint64_t offset, std::span<const iovec> iov) override;
  Status write(uint64_t offset, std::span<const iovec> iov) override;
  Status flush() override;
  Status discard(uint64_t offset, uint64_t length) override;
  Status write_zeroes(uint64_t offset, uint64_t length, bool may_unmap) override;
  Result<std::unique_ptr<DiskQueue>> open_queue(unsigned depth) override;

  // Grows the virtual disk (shrinking is refused).
  Status resize(uint64_t new_size);
  // Allocates every cluster (metadata), then the file space (falloc) or zeros (full).
  Status preallocate(Preallocation mode);
  // Compares refcounts with the metadata; with `repair`, fixes them (and COPIED flags).
  Result<Qcow2CheckResult> check(bool repair);
  // After a successful repair: clears the corrupt bit in the header.
  Status clear_corrupt_flag();

  const qcow2::Header& header() const { return header_; }
  DiskImage* backing() const { return backing_.get(); }
  const ImageFile& file() const { return file_; }

 private:
  struct Extent;
  Qcow2Image(ImageFile file, qcow2::Header header, std::unique_ptr<DiskImage> backing);

  Status load(size_t l2_cache_bytes);
  Error corrupt(const std::string& what);
  Status check_request(uint64_t offset, uint64_t length, bool writing) const;

  // RingMapper: the queue's data transfers to allocated clusters.
  bool map_for_ring(IoOp op, uint64_t offset, uint64_t length, uint64_t* file_offset) override;
  void release_ring_mapping() override;

  // Mapping (metadata lock held).
  Result<qcow2::ClusterMapping> lookup(uint64_t guest_cluster);
  Result<uint64_t> l2_table_for(uint64_t l1_index, bool allocate);
  Status set_l2_entry(uint64_t guest_cluster, uint64_t entry);
  Status validate_mapping(const qcow2::ClusterMapping& m);
  void free_later(const qcow2::ClusterMapping& m);

  // Data paths.
  Status read_extent(const Extent& e, std::span<const iovec> iov, uint64_t iov_pos);
  Status read_backing(uint64_t guest_offset, std::span<const iovec> iov, uint64_t iov_pos,
                      uint64_t len);
  Status read_compressed(const qcow2::ClusterMapping& m, uint8_t* cluster);
  Status cow_fill(uint64_t guest_cluster, const qcow2::ClusterMapping& old, uint64_t from,
                  uint64_t len, uint8_t* out);
  Status allocating_write(uint64_t offset, std::span<const iovec> iov, uint64_t iov_pos,
                          uint64_t len, uint64_t& written);
  Status zero_clusters(uint64_t first, uint64_t count, bool discard, bool may_unmap);

  // Metadata write-back (lock held).
  Status write_metadata();
  Status write_l1();
  Status evict_l2_tables();
  Status apply_pending_frees();

  ImageFile file_;
  qcow2::Header header_;
  std::unique_ptr<DiskImage> backing_;
  const uint32_t cluster_bits_;
  const uint64_t cluster_size_;
  std::atomic<uint64_t> size_;

  std::mutex lock_;  // guards everything below
  std::vector<uint64_t> l1_;
  std::vector<uint32_t> l1_dirty_;
  std::unordered_set<uint64_t> l2_clusters_;  // host clusters holding active L2 tables
  std::unique_ptr<qcow2::TableCache> l2_cache_;
  std::unique_ptr<qcow2::Refcounts> refcounts_;
  std::vector<uint64_t> pending_free_;  // host clusters freed since the last flush
  bool corrupt_ = false;
  bool loaded_ = false;  // the tables are in memory (the destructor may write them back)
  std::atomic<int> unlocked_io_{0};  // data I/O in progress outside the lock (and on rings)
};

}  // namespace vmkit
