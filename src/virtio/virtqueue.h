// The device side of one split virtqueue (virtio 1.2, 2.7). Every field the driver writes is
// hostile: the layout is validated when the queue is created, each popped chain is validated
// whole (addresses inside guest RAM, a budget of `size` buffers so loops end, indirect tables
// well-formed and not nested, device-readable before device-writable), and an avail index that
// runs more than `size` ahead of the device is a driver error. After any driver error the
// queue is broken: pop() keeps failing and the device is expected to ask for a reset
// (DEVICE_NEEDS_RESET).
//
// Ordering: avail.idx is loaded with acquire before ring entries are read; used elements are
// written before used.idx is stored with release; a full fence separates used.idx from
// reading used_event, and avail_event from re-reading avail.idx (EVENT_IDX).
//
// One thread uses a queue at a time (the device's I/O thread after activation).
#pragma once

#include <cstdint>

#include "base/result.h"
#include "memory/guest_address.h"
#include "memory/guest_memory.h"
#include "virtio/descriptor_chain.h"

namespace vmkit {

struct QueueLayout {
  uint16_t size = 0;
  GuestAddress desc;   // descriptor area
  GuestAddress avail;  // driver area
  GuestAddress used;   // device area
};

class VirtQueue {
 public:
  // `features` are the negotiated ones (EVENT_IDX and INDIRECT_DESC matter). Fails when the
  // size is not a power of two in [1, max_size] or a ring part is misaligned or not inside RAM.
  static Result<VirtQueue> create(const GuestMemory& mem, const QueueLayout& layout,
                                  uint16_t max_size, uint64_t features);

  uint16_t size() const { return size_; }
  bool event_idx() const { return event_idx_; }
  bool broken() const { return broken_; }
  uint16_t last_avail_idx() const { return last_avail_; }
  uint16_t next_used_idx() const { return next_used_; }

  // Pops the next available chain into `chain`. Returns false when the ring is empty; an error
  // when the driver broke the ring or the chain (the queue is then broken).
  Result<bool> pop(DescriptorChain& chain);
  // Returns chain `head` to the driver with `len` bytes written into its buffers.
  Status add_used(uint16_t head, uint32_t len);
  // Whether the driver wants an interrupt for the used entries added since the last call
  // (used_event with EVENT_IDX, otherwise the NO_INTERRUPT flag). Call after a batch.
  bool needs_interrupt();
  // Tells the driver the device wants a notification for the next buffer (avail_event with
  // EVENT_IDX) and re-checks the ring: true when buffers arrived meanwhile (pop again).
  Result<bool> enable_notification();
  // Whether the driver has made buffers available that pop() has not taken, without changing
  // the notification state (for a polling thread). True when the ring cannot be read, so that
  // pop() reports the error.
  bool has_available() const;

 private:
  VirtQueue(const GuestMemory& mem, const QueueLayout& layout, bool event_idx, bool indirect)
      : mem_(&mem),
        layout_(layout),
        size_(layout.size),
        event_idx_(event_idx),
        indirect_(indirect) {}
  Status read_chain(uint16_t head, DescriptorChain& chain) const;
  Error fail(Error error);

  const GuestMemory* mem_;
  QueueLayout layout_;
  uint16_t size_;
  bool event_idx_;
  bool indirect_;
  bool broken_ = false;
  uint16_t last_avail_ = 0;      // next avail ring entry to consume
  uint16_t next_used_ = 0;       // next used ring entry to fill
  uint16_t signalled_used_ = 0;  // next_used_ when needs_interrupt() last ran
  bool signalled_valid_ = false;
};

}  // namespace vmkit
