// The driver side of a split virtqueue for tests, fuzzers and benchmarks: it writes real
// descriptor tables and rings into a GuestMemory exactly as a guest driver would, so devices
// are exercised through the same bytes a guest produces. Chains are built with
// DescriptorChainBuilder; hostile layouts are written with the raw accessors.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "memory/guest_memory.h"
#include "virtio/virtio_spec.h"
#include "virtio/virtqueue.h"

namespace vmkit::testing {

class FakeQueueDriver;

class DescriptorChainBuilder {
 public:
  explicit DescriptorChainBuilder(FakeQueueDriver& driver) : driver_(driver) {}
  // A device-readable buffer holding `data` (copied into fresh guest memory).
  DescriptorChainBuilder& readable(std::span<const uint8_t> data);
  // A device-writable buffer of `len` bytes (zeroed); its address is appended to `where`.
  DescriptorChainBuilder& writable(uint32_t len, GuestAddress* where = nullptr);
  // A descriptor with arbitrary fields (NEXT is managed by the builder unless `exact`).
  DescriptorChainBuilder& raw(uint64_t addr, uint32_t len, uint16_t flags);
  // The buffers added after this call go into one indirect table.
  DescriptorChainBuilder& indirect();
  // Writes the descriptors; returns the head index. publish() also makes it available.
  uint16_t build();
  uint16_t publish();

 private:
  struct Item {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
  };
  FakeQueueDriver& driver_;
  std::vector<Item> direct_;
  std::vector<Item> indirect_;
  bool in_indirect_ = false;
};

class FakeQueueDriver {
 public:
  // Lays the rings out at `base` and hands out buffers from [pool, pool + pool_size).
  FakeQueueDriver(const GuestMemory& mem, uint16_t size, GuestAddress base, GuestAddress pool,
                  uint64_t pool_size);

  QueueLayout layout() const { return layout_; }
  uint16_t size() const { return layout_.size; }
  const GuestMemory& memory() const { return mem_; }

  DescriptorChainBuilder chain() { return DescriptorChainBuilder(*this); }

  // Buffers.
  GuestAddress alloc(uint64_t len, uint64_t align = 16);
  void reset_pool() { pool_next_ = 0; }
  void reset_descriptors() { next_desc_ = 0; }
  std::vector<uint8_t> read(GuestAddress addr, uint64_t len) const;
  void write(GuestAddress addr, std::span<const uint8_t> data) const;

  // Raw ring access (hostile tests).
  uint16_t alloc_descriptor();
  void write_desc(uint16_t index, const virtio::VirtqDesc& desc);
  void write_desc_at(GuestAddress table, uint16_t index, const virtio::VirtqDesc& desc);
  // Puts `head` in the next avail slot and bumps avail.idx (release).
  void publish(uint16_t head);
  // Puts `head` in the next avail slot without publishing it (batching).
  void stage(uint16_t head);
  void publish_staged();
  void set_avail_idx(uint16_t idx);
  uint16_t avail_idx() const { return avail_idx_; }
  void set_avail_flags(uint16_t flags);
  void set_used_event(uint16_t idx);
  uint16_t avail_event() const;

  // Used ring.
  uint16_t used_idx() const;
  // The next used element the driver has not consumed yet.
  std::optional<virtio::VirtqUsedElem> pop_used();

 private:
  const GuestMemory& mem_;
  QueueLayout layout_;
  GuestAddress pool_;
  uint64_t pool_size_;
  uint64_t pool_next_ = 0;
  uint16_t next_desc_ = 0;
  uint16_t avail_idx_ = 0;
  uint16_t staged_ = 0;
  uint16_t last_used_ = 0;
};

}  // namespace vmkit::testing
