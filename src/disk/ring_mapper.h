// How a format with metadata (qcow2) lets the io_uring queue carry its data transfers: the queue
// asks where a guest read or write lies in the image file, and sends it to the ring when the
// answer is one contiguous run that needs no metadata work. Everything else (allocation,
// copy-on-write, compressed or backing-file data, flush, discard) runs through the image's
// synchronous path. Depends on disk_image.h only.
#pragma once

#include <cstdint>

#include "disk/disk_image.h"

namespace vmkit {

class RingMapper {
 public:
  virtual ~RingMapper() = default;
  // A read or write of `length` bytes at guest `offset`: true when the bytes lie at
  // [*file_offset, *file_offset + length) of the file and may be transferred there without
  // touching metadata (for a write: every cluster allocated and not shared). Then an in-flight
  // reference is held, so that the clusters are not freed and reused before release().
  // False: the request runs through the image's synchronous path.
  virtual bool map_for_ring(IoOp op, uint64_t offset, uint64_t length, uint64_t* file_offset) = 0;
  // Drops the reference map_for_ring() took, once the transfer completed.
  virtual void release_ring_mapping() = 0;
};

}  // namespace vmkit
