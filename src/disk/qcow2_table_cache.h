// A write-back cache of cluster-sized qcow2 metadata tables (L2 tables, refcount blocks), keyed
// by host offset, evicting the least recently used. A pointer from get() stays valid until the
// next get() of a table that is not cached. Not thread-safe: the image's metadata lock guards it.
//
// Ordering: the owner decides when dirty tables may reach the file. When a dirty table must be
// evicted, the cache calls the owner's before_evict hook, which writes back whatever is needed
// in the right order (for L2 tables: refcounts, sync, then all dirty L2 tables).
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "disk/image_file.h"
#include "disk/iov_util.h"

namespace vmkit::qcow2 {

class TableCache {
 public:
  TableCache(const ImageFile& file, size_t table_size, size_t capacity);

  // Called with the cache's dirty tables still dirty when one must be evicted; it must leave
  // them clean (typically by calling write_dirty() after its ordering work).
  void set_before_evict(std::function<Status()> hook) { before_evict_ = std::move(hook); }

  Result<uint8_t*> get(uint64_t offset);        // reads the table from the file if missing
  Result<uint8_t*> get_fresh(uint64_t offset);  // a newly allocated table: zeroes, no read
  void mark_dirty(uint64_t offset);
  bool any_dirty() const { return dirty_count_ > 0; }
  // Writes every dirty table to the file (no sync) and marks them clean.
  Status write_dirty();
  // Forgets a table (its cluster was freed). A dirty one is dropped without writing.
  void drop(uint64_t offset);
  size_t capacity() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t offset = 0;  // 0 = empty slot (cluster 0 is the header, never a table)
    bool dirty = false;
    uint32_t prev = kNone, next = kNone;  // LRU list, most recent at head_
  };
  static constexpr uint32_t kNone = UINT32_MAX;

  Result<uint32_t> slot_for(uint64_t offset, bool& hit);
  void unlink(uint32_t i);
  void push_front(uint32_t i);
  uint8_t* data(uint32_t i) const { return buffer_.data() + size_t{i} * table_size_; }

  const ImageFile& file_;
  size_t table_size_;
  AlignedBuffer buffer_;
  std::vector<Entry> entries_;
  std::unordered_map<uint64_t, uint32_t> index_;
  uint32_t head_ = kNone, tail_ = kNone;
  size_t dirty_count_ = 0;
  std::function<Status()> before_evict_;
};

}  // namespace vmkit::qcow2
