// qcow2 host cluster accounting: the refcount table (kept whole in memory), refcount blocks of
// any width (refcount_order 0..6, through a TableCache), and the cluster allocator.
//
// Ordering rules kept here:
//  - a new refcount block is written (and synced) before the table entry that points at it;
//  - a grown refcount table is written and synced before the header points at it, and the old
//    table is freed only after the header update is synced;
//  - refcount increases may reach the file at any time (a crash then leaks, never corrupts);
//    decreases are only made by the image after the references are gone from stable storage.
// Not thread-safe: the image's metadata lock guards it.
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_set>
#include <vector>

#include "base/result.h"
#include "disk/image_file.h"
#include "disk/qcow2_table_cache.h"

namespace vmkit::qcow2 {

class Refcounts {
 public:
  Refcounts(const ImageFile& file, uint32_t cluster_bits, uint32_t refcount_order,
            size_t cache_tables);

  // Reads the table; `file_end` is the image's current end (allocation starts below it when
  // clusters are free). `reserved(cluster)` names clusters never to allocate even if their
  // refcount reads 0 (the header, the L1 table: protection against hostile images).
  Status load(uint64_t table_offset, uint32_t table_clusters, uint64_t file_end,
              std::function<bool(uint64_t)> reserved);

  Result<uint64_t> get(uint64_t cluster);
  Status set(uint64_t cluster, uint64_t value);
  // Allocates `count` contiguous clusters with refcount 1; returns the byte offset.
  Result<uint64_t> allocate(uint64_t count);
  // Decrements; returns the new refcount (0: the cluster is free again).
  Result<uint64_t> decrement(uint64_t cluster);

  Status write_dirty() { return cache_.write_dirty(); }
  bool any_dirty() const { return cache_.any_dirty(); }
  uint64_t max_value() const;
  // The end of the image as far as allocation knows (bytes, cluster-aligned).
  uint64_t image_end() const { return end_; }
  uint64_t table_offset() const { return table_offset_; }
  uint32_t table_clusters() const { return table_clusters_; }
  const std::vector<uint64_t>& table() const { return table_; }
  uint64_t block_entries() const { return 1ull << block_shift_; }
  // Whether `cluster` holds the refcount table or a refcount block.
  bool is_refcount_metadata(uint64_t cluster) const;

  static uint64_t read_entry(const uint8_t* block, uint64_t index, uint32_t order);
  static void write_entry(uint8_t* block, uint64_t index, uint32_t order, uint64_t value);

 private:
  Result<uint8_t*> block_for(uint64_t cluster, bool create);
  Status ensure_block(uint64_t block_index);
  Status grow_table(uint64_t min_entries);
  uint64_t find_free_run(uint64_t count, Result<uint64_t>& error_out);

  const ImageFile& file_;
  uint32_t cluster_bits_;
  uint32_t order_;
  uint32_t block_shift_;  // log2(entries per refcount block)
  TableCache cache_;
  std::vector<uint64_t> table_;
  std::unordered_set<uint64_t> block_clusters_;
  uint64_t table_offset_ = 0;
  uint32_t table_clusters_ = 0;
  uint64_t end_ = 0;
  uint64_t free_hint_ = 1;
  bool growing_ = false;
  std::function<bool(uint64_t)> reserved_;
};

}  // namespace vmkit::qcow2
