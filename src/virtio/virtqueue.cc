#include "virtio/virtqueue.h"

#include <fmt/format.h>

#include <atomic>

#include "base/checked.h"
#include "virtio/virtio_spec.h"

namespace vmkit {
namespace {

using virtio::VirtqDesc;

// Offsets inside the ring parts.
constexpr uint64_t kAvailIdx = 2;
constexpr uint64_t kAvailRing = 4;
constexpr uint64_t kUsedIdx = 2;
constexpr uint64_t kUsedRing = 4;

Status check_part(const GuestMemory& mem, const char* what, GuestAddress addr, uint64_t len,
                  uint64_t align) {
  if (addr.value() % align != 0) {
    return Error(
        fmt::format("virtqueue {} at {:#x} is not {}-byte aligned", what, addr.value(), align));
  }
  if (!mem.is_valid_range(addr, len)) {
    return Error(fmt::format("virtqueue {} at {:#x}+{:#x} is not inside guest RAM", what,
                             addr.value(), len));
  }
  return {};
}

}  // namespace

Result<VirtQueue> VirtQueue::create(const GuestMemory& mem, const QueueLayout& layout,
                                    uint16_t max_size, uint64_t features) {
  if (!is_power_of_two(layout.size) || layout.size > max_size ||
      layout.size > virtio::kMaxQueueSize) {
    return Error(
        fmt::format("virtqueue size {} is not a power of two in [1, {}]", layout.size, max_size));
  }
  uint16_t n = layout.size;
  TRY(check_part(mem, "descriptor table", layout.desc, virtio::desc_table_size(n),
                 virtio::kDescAlign));
  // The trailing used_event / avail_event fields exist with or without EVENT_IDX in the
  // sizes the spec gives; requiring them keeps every later access in bounds.
  TRY(check_part(mem, "available ring", layout.avail, virtio::avail_ring_size(n),
                 virtio::kAvailAlign));
  TRY(check_part(mem, "used ring", layout.used, virtio::used_ring_size(n), virtio::kUsedAlign));
  return VirtQueue(mem, layout, (features & virtio::kFeatureEventIdx) != 0,
                   (features & virtio::kFeatureIndirectDesc) != 0);
}

Error VirtQueue::fail(Error error) {
  broken_ = true;
  return error;
}

Result<bool> VirtQueue::pop(DescriptorChain& chain) {
  if (broken_) return Error("virtqueue is broken; the device needs a reset");
  auto avail_idx = mem_->load_acquire<uint16_t>(layout_.avail + kAvailIdx);
  if (!avail_idx.ok()) return fail(std::move(avail_idx).error());
  uint16_t pending = static_cast<uint16_t>(*avail_idx - last_avail_);
  if (pending == 0) return false;
  if (pending > size_) {
    return fail(Error(fmt::format("avail.idx {} is {} entries ahead of the device (queue size {})",
                                  *avail_idx, pending, size_)));
  }
  uint64_t slot = last_avail_ % size_;
  auto head = mem_->read_obj<uint16_t>(layout_.avail + (kAvailRing + 2 * slot));
  if (!head.ok()) return fail(std::move(head).error());
  if (*head >= size_) {
    return fail(
        Error(fmt::format("avail ring entry {} names descriptor {} of {}", slot, *head, size_)));
  }
  Status status = read_chain(*head, chain);
  if (!status.ok()) return fail(std::move(status).error());
  ++last_avail_;
  return true;
}

Status VirtQueue::read_chain(uint16_t head, DescriptorChain& chain) const {
  chain.reset(head);
  GuestAddress table = layout_.desc;
  uint32_t table_len = size_;  // entries in the table being walked
  bool in_indirect = false;
  uint32_t index = head;
  uint32_t steps = 0;    // descriptors visited in the current table
  uint32_t buffers = 0;  // buffers in the whole chain: the budget is the queue size
  bool seen_writable = false;
  while (true) {
    if (index >= table_len) {
      return Error(fmt::format("descriptor chain {}: next index {} outside a table of {}", head,
                               index, table_len));
    }
    if (++steps > table_len) {
      return Error(fmt::format("descriptor chain {} loops", head));
    }
    VirtqDesc d = TRY(mem_->read_obj<VirtqDesc>(table + uint64_t{index} * sizeof(VirtqDesc)));
    if (d.flags & virtio::kDescFlagIndirect) {
      if (!indirect_) {
        return Error(fmt::format("descriptor chain {}: indirect descriptor not negotiated", head));
      }
      if (in_indirect) {
        return Error(
            fmt::format("descriptor chain {}: indirect table inside an indirect table", head));
      }
      if (d.flags & virtio::kDescFlagNext) {
        return Error(fmt::format("descriptor chain {}: indirect descriptor with NEXT", head));
      }
      if (d.len == 0 || d.len % sizeof(VirtqDesc) != 0) {
        return Error(
            fmt::format("descriptor chain {}: indirect table length {} is not a "
                        "non-zero multiple of 16",
                        head, d.len));
      }
      if (!mem_->is_valid_range(GuestAddress(d.addr), d.len)) {
        return Error(
            fmt::format("descriptor chain {}: indirect table at {:#x}+{:#x} is not "
                        "inside guest RAM",
                        head, d.addr, d.len));
      }
      table = GuestAddress(d.addr);
      table_len = d.len / static_cast<uint32_t>(sizeof(VirtqDesc));
      in_indirect = true;
      index = 0;
      steps = 0;
      continue;
    }
    if (++buffers > size_) {
      return Error(fmt::format("descriptor chain {} is longer than the queue ({})", head, size_));
    }
    bool writable = (d.flags & virtio::kDescFlagWrite) != 0;
    if (!writable && seen_writable) {
      return Error(
          fmt::format("descriptor chain {}: device-readable buffer after a "
                      "device-writable one",
                      head));
    }
    if (d.len != 0 && !mem_->is_valid_range(GuestAddress(d.addr), d.len)) {
      return Error(fmt::format("descriptor chain {}: buffer {:#x}+{:#x} is not inside guest RAM",
                               head, d.addr, d.len));
    }
    seen_writable = seen_writable || writable;
    chain.push(Descriptor{GuestAddress(d.addr), d.len, writable});
    if (!(d.flags & virtio::kDescFlagNext)) return {};
    index = d.next;
  }
}

Status VirtQueue::add_used(uint16_t head, uint32_t len) {
  uint64_t slot = next_used_ % size_;
  virtio::VirtqUsedElem elem{head, len};
  TRY(mem_->write_obj(layout_.used + (kUsedRing + sizeof(elem) * slot), elem));
  ++next_used_;
  return mem_->store_release<uint16_t>(layout_.used + kUsedIdx, next_used_);
}

bool VirtQueue::needs_interrupt() {
  // used.idx (stored above) must be visible before the driver's suppression fields are read.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!event_idx_) {
    auto flags = mem_->read_obj<uint16_t>(layout_.avail);
    return !flags.ok() || !(*flags & virtio::kAvailFlagNoInterrupt);
  }
  uint16_t old_used = signalled_used_;
  bool valid = signalled_valid_;
  signalled_used_ = next_used_;
  signalled_valid_ = true;
  if (!valid) return true;
  auto used_event = mem_->read_obj<uint16_t>(layout_.avail + (kAvailRing + 2ull * size_));
  if (!used_event.ok()) return true;
  // vring_need_event: interrupt if used_event lies in [old_used, next_used).
  return static_cast<uint16_t>(next_used_ - *used_event - 1) <
         static_cast<uint16_t>(next_used_ - old_used);
}

bool VirtQueue::has_available() const {
  if (broken_) return false;
  auto avail_idx = mem_->load_acquire<uint16_t>(layout_.avail + kAvailIdx);
  return !avail_idx.ok() || *avail_idx != last_avail_;
}

Result<bool> VirtQueue::enable_notification() {
  if (event_idx_) {
    TRY(mem_->store_release<uint16_t>(layout_.used + (kUsedRing + 8ull * size_), last_avail_));
    // avail_event must be visible before avail.idx is read again.
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  uint16_t avail_idx = TRY(mem_->load_acquire<uint16_t>(layout_.avail + kAvailIdx));
  return avail_idx != last_avail_;
}

}  // namespace vmkit
