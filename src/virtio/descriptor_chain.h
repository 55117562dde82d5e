// A validated descriptor chain: the buffers of one request, popped from a virtqueue. Every
// descriptor lies inside guest RAM (checked when the chain was read) and the device-readable
// ones come first. The chain holds guest addresses only; host pointers are made on demand
// through GuestMemory and must not outlive the request.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "memory/guest_address.h"
#include "memory/guest_memory.h"

namespace vmkit {

struct Descriptor {
  GuestAddress addr;
  uint32_t len = 0;
  bool writable = false;
};

class DescriptorChain {
 public:
  uint16_t head() const { return head_; }
  std::span<const Descriptor> descriptors() const { return descs_; }
  std::span<const Descriptor> readable() const { return std::span(descs_).first(num_readable_); }
  std::span<const Descriptor> writable() const { return std::span(descs_).subspan(num_readable_); }
  uint64_t readable_bytes() const { return readable_bytes_; }
  uint64_t writable_bytes() const { return writable_bytes_; }

  // Building (VirtQueue, tests). push() keeps readable descriptors before writable ones; the
  // caller has checked the order.
  void reset(uint16_t head) {
    head_ = head;
    descs_.clear();
    num_readable_ = 0;
    readable_bytes_ = writable_bytes_ = 0;
  }
  void push(const Descriptor& d) {
    descs_.push_back(d);
    if (d.writable) {
      writable_bytes_ += d.len;
    } else {
      ++num_readable_;
      readable_bytes_ += d.len;
    }
  }

 private:
  uint16_t head_ = 0;
  std::vector<Descriptor> descs_;  // capacity reused across pops
  size_t num_readable_ = 0;
  uint64_t readable_bytes_ = 0;
  uint64_t writable_bytes_ = 0;
};

// The buffers of `descs` seen as one byte string. All functions fail (without partial effects
// on host memory outside guest RAM) when [offset, offset + len) is not inside it.

// Copies bytes out of the buffers.
Status read_buffers(const GuestMemory& mem, std::span<const Descriptor> descs, uint64_t offset,
                    std::span<uint8_t> out);
// Copies bytes into the buffers.
Status write_buffers(const GuestMemory& mem, std::span<const Descriptor> descs, uint64_t offset,
                     std::span<const uint8_t> data);
// Appends iovecs that point into guest memory for [offset, offset + len).
Status buffer_iovecs(const GuestMemory& mem, std::span<const Descriptor> descs, uint64_t offset,
                     uint64_t len, std::vector<iovec>& out);
// The guest address of the byte at `offset`.
Result<GuestAddress> buffer_address(std::span<const Descriptor> descs, uint64_t offset);

}  // namespace vmkit
