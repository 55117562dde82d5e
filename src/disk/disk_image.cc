#include "disk/disk_image.h"

#include <cerrno>

#include "disk/iov_util.h"
#include "disk/sync_queue.h"

namespace vmkit {

Result<std::unique_ptr<DiskQueue>> DiskImage::open_queue(unsigned depth) {
  (void)depth;
  auto queue = TRY(SyncDiskQueue::create(*this));
  return std::unique_ptr<DiskQueue>(std::move(queue));
}

int execute_sync(DiskImage& image, const IoRequest& request) {
  Status status;
  switch (request.op) {
    case IoOp::kRead:
      status = image.read(request.offset, request.iov);
      break;
    case IoOp::kWrite:
      status = image.write(request.offset, request.iov);
      break;
    case IoOp::kFlush:
      status = image.flush();
      break;
    case IoOp::kDiscard:
      status = image.discard(request.offset, request.length);
      break;
    case IoOp::kWriteZeroes:
      status = image.write_zeroes(request.offset, request.length, request.may_unmap);
      break;
    default:
      return -EINVAL;
  }
  if (status.ok()) return 0;
  int err = status.error().sys_errno();
  return err > 0 ? -err : -EIO;
}

Result<std::unique_ptr<SyncDiskQueue>> SyncDiskQueue::create(DiskImage& image) {
  auto event = TRY(EventFd::create());
  return std::unique_ptr<SyncDiskQueue>(new SyncDiskQueue(image, std::move(event)));
}

Status SyncDiskQueue::submit(const IoRequest& request) {
  ready_.push_back({request.cookie, execute_sync(image_, request)});
  // The request ran: its completion is queued even if the wakeup could not be signalled (an
  // eventfd write only fails when the counter is saturated, and then the reader wakes anyway).
  (void)event_.signal();
  return {};
}

size_t SyncDiskQueue::reap(std::vector<IoCompletion>& out) {
  event_.consume();
  size_t n = ready_.size();
  out.insert(out.end(), ready_.begin(), ready_.end());
  ready_.clear();
  return n;
}

}  // namespace vmkit
