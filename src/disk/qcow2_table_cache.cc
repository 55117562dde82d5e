#include "disk/qcow2_table_cache.h"

#include <algorithm>
#include <cstring>

namespace vmkit::qcow2 {

TableCache::TableCache(const ImageFile& file, size_t table_size, size_t capacity)
    : file_(file), table_size_(table_size), buffer_(table_size * capacity), entries_(capacity) {
  // All slots start empty and sit in the LRU list, so eviction finds them first.
  for (uint32_t i = 0; i < capacity; ++i) push_front(i);
}

void TableCache::unlink(uint32_t i) {
  Entry& e = entries_[i];
  if (e.prev != kNone)
    entries_[e.prev].next = e.next;
  else
    head_ = e.next;
  if (e.next != kNone)
    entries_[e.next].prev = e.prev;
  else
    tail_ = e.prev;
  e.prev = e.next = kNone;
}

void TableCache::push_front(uint32_t i) {
  Entry& e = entries_[i];
  e.prev = kNone;
  e.next = head_;
  if (head_ != kNone) entries_[head_].prev = i;
  head_ = i;
  if (tail_ == kNone) tail_ = i;
}

Result<uint32_t> TableCache::slot_for(uint64_t offset, bool& hit) {
  auto it = index_.find(offset);
  if (it != index_.end()) {
    hit = true;
    if (head_ != it->second) {
      unlink(it->second);
      push_front(it->second);
    }
    return it->second;
  }
  hit = false;
  uint32_t victim = tail_;
  if (entries_[victim].dirty) {
    if (before_evict_) TRY(before_evict_());
    if (entries_[victim].dirty) {  // no hook, or the hook left it: write just this one
      TRY(file_.write(data(victim), table_size_, entries_[victim].offset));
      entries_[victim].dirty = false;
      --dirty_count_;
    }
  }
  if (entries_[victim].offset != 0) index_.erase(entries_[victim].offset);
  entries_[victim].offset = 0;
  unlink(victim);
  push_front(victim);
  return victim;
}

Result<uint8_t*> TableCache::get(uint64_t offset) {
  bool hit = false;
  uint32_t i = TRY(slot_for(offset, hit));
  if (!hit) {
    TRY(file_.read(data(i), table_size_, offset));
    entries_[i].offset = offset;
    index_[offset] = i;
  }
  return data(i);
}

Result<uint8_t*> TableCache::get_fresh(uint64_t offset) {
  bool hit = false;
  uint32_t i = TRY(slot_for(offset, hit));
  std::memset(data(i), 0, table_size_);
  if (!hit) {
    entries_[i].offset = offset;
    index_[offset] = i;
  }
  return data(i);
}

void TableCache::mark_dirty(uint64_t offset) {
  auto it = index_.find(offset);
  if (it == index_.end()) return;
  Entry& e = entries_[it->second];
  if (!e.dirty) {
    e.dirty = true;
    ++dirty_count_;
  }
}

Status TableCache::write_dirty() {
  if (dirty_count_ == 0) return {};
  std::vector<uint32_t> dirty;
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].dirty) dirty.push_back(i);
  }
  std::sort(dirty.begin(), dirty.end(),
            [&](uint32_t a, uint32_t b) { return entries_[a].offset < entries_[b].offset; });
  for (uint32_t i : dirty) {
    TRY(file_.write(data(i), table_size_, entries_[i].offset));
    entries_[i].dirty = false;
    --dirty_count_;
  }
  return {};
}

void TableCache::drop(uint64_t offset) {
  auto it = index_.find(offset);
  if (it == index_.end()) return;
  Entry& e = entries_[it->second];
  if (e.dirty) --dirty_count_;
  e.dirty = false;
  e.offset = 0;
  uint32_t i = it->second;
  index_.erase(it);
  unlink(i);
  // An empty slot is the best victim: move it to the tail.
  Entry& slot = entries_[i];
  slot.prev = tail_;
  slot.next = kNone;
  if (tail_ != kNone) entries_[tail_].next = i;
  tail_ = i;
  if (head_ == kNone) head_ = i;
}

}  // namespace vmkit::qcow2
