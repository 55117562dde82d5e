// One virtio-blk request, parsed whole from a descriptor chain before anything touches the
// disk: header, type, directions and sizes, `sector + length` against the capacity with
// checked arithmetic, read-only and feature checks, and the status byte's address. A request
// the device must refuse carries the status to report (IOERR or UNSUPP); only a chain without
// any device-writable byte (no room for a status) is an error, since nothing can be reported.
//
// Data buffers become iovecs that point into guest memory (no copies); they are valid while
// the request is in flight and never across a device reset.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <vector>

#include "base/result.h"
#include "memory/guest_memory.h"
#include "virtio/descriptor_chain.h"

namespace vmkit {

struct BlockLimits {
  uint64_t capacity_sectors = 0;
  bool read_only = false;
  bool discard = false;       // VIRTIO_BLK_F_DISCARD negotiated
  bool write_zeroes = false;  // VIRTIO_BLK_F_WRITE_ZEROES negotiated
  uint32_t max_discard_sectors = 0;
  uint32_t max_write_zeroes_sectors = 0;
  uint32_t max_segments = 1;  // discard / write-zeroes segments per request
};

struct BlockRequest {
  enum class Kind { kInvalid, kRead, kWrite, kFlush, kGetId, kDiscard, kWriteZeroes };

  Kind kind = Kind::kInvalid;
  uint32_t type = 0;    // as the driver wrote it
  uint64_t sector = 0;  // as the driver wrote it
  uint8_t status = 0;   // kStatusOk: execute; otherwise report this status at once
  uint64_t offset = 0;  // bytes into the disk (read, write, discard, write-zeroes)
  uint64_t length = 0;  // bytes: data (read, write, get-id) or range (discard, write-zeroes)
  bool unmap = false;   // write-zeroes may deallocate
  GuestAddress status_addr;
  uint32_t used_len = 1;  // bytes the device writes into the chain on success
  std::vector<iovec> iov;

  static Result<BlockRequest> parse(const DescriptorChain& chain, const GuestMemory& mem,
                                    const BlockLimits& limits);
  // The same, into `out` (reusing its iovec storage): the device's hot path.
  static Status parse_into(const DescriptorChain& chain, const GuestMemory& mem,
                           const BlockLimits& limits, BlockRequest& out);
};

}  // namespace vmkit
