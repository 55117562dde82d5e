// The block backend interface seen by virtio-blk (and by `vmkit disk`). Formats (raw, qcow2) and
// decorators (read-only, backing chains) implement it. Depends on base only.
//
// Two ways in:
//  - synchronous calls (read/write/flush/...), used by tools and by the default queue;
//  - a DiskQueue per virtqueue: submit() requests with a cookie, reap() completions when the
//    queue's eventfd is readable. Raw files use io_uring; qcow2 too, for transfers to allocated
//    clusters, and runs its metadata work synchronously (complete inside submit) without the
//    device knowing.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace vmkit {

enum class CacheMode {
  kWriteback,  // host page cache; flush = fdatasync
  kNone,       // O_DIRECT where the file system allows it; flush = fdatasync
};

enum class IoOp { kRead, kWrite, kFlush, kDiscard, kWriteZeroes };

struct IoRequest {
  IoOp op = IoOp::kRead;
  uint64_t offset = 0;         // bytes
  uint64_t length = 0;         // bytes, for discard / write-zeroes (read/write use iov)
  std::span<const iovec> iov;  // must stay valid until the completion is reaped
  bool may_unmap = false;      // write-zeroes: may punch a hole
  uint64_t cookie = 0;         // returned in the completion
};

struct IoCompletion {
  uint64_t cookie = 0;
  int result = 0;  // 0 on success or -errno
};

class DiskQueue {
 public:
  virtual ~DiskQueue() = default;
  // Readable (EPOLLIN) when completions are waiting.
  virtual int event_fd() const = 0;
  // Queues a request. A returned error means it was not queued (the caller completes it with
  // an I/O error); otherwise exactly one completion with its cookie follows.
  virtual Status submit(const IoRequest& request) = 0;
  // Pushes queued requests to the kernel (one syscall for a batch).
  virtual void kick() = 0;
  // Appends ready completions to `out`; returns how many.
  virtual size_t reap(std::vector<IoCompletion>& out) = 0;
  // Whether reap() would return something, without a syscall (for a polling thread).
  virtual bool has_completions() const = 0;
};

class DiskImage {
 public:
  virtual ~DiskImage() = default;

  virtual std::string format() const = 0;  // "raw", "qcow2"
  virtual uint64_t virtual_size() const = 0;
  virtual bool read_only() const = 0;
  // Granularity for discard / write-zeroes alignment hints (bytes).
  virtual uint32_t discard_granularity() const { return 4096; }

  virtual Status read(uint64_t offset, std::span<const iovec> iov) = 0;
  virtual Status write(uint64_t offset, std::span<const iovec> iov) = 0;
  // Data and metadata written so far are on stable storage when this returns.
  virtual Status flush() = 0;
  virtual Status discard(uint64_t offset, uint64_t length) = 0;
  virtual Status write_zeroes(uint64_t offset, uint64_t length, bool may_unmap) = 0;

  // One queue per virtqueue; the default executes each request synchronously in submit().
  virtual Result<std::unique_ptr<DiskQueue>> open_queue(unsigned depth);
};

// Runs one request synchronously against `image` and returns 0 or -errno.
int execute_sync(DiskImage& image, const IoRequest& request);

}  // namespace vmkit
