#include "disk/uring_queue.h"

#include <linux/falloc.h>

#include <climits>

#include "base/checked.h"
#include "disk/iov_util.h"

namespace vmkit {

Result<std::unique_ptr<UringDiskQueue>> UringDiskQueue::create(DiskImage& image,
                                                               const ImageFile& file,
                                                               unsigned depth, RingMapper* mapper) {
  if (depth == 0 || depth > 4096) return Error("io_uring depth " + std::to_string(depth), EINVAL);
  auto event = TRY(EventFd::create());
  std::unique_ptr<UringDiskQueue> q(
      new UringDiskQueue(image, file, mapper, std::move(event), 2 * depth));
  int rc = io_uring_queue_init(depth, &q->ring_, 0);
  if (rc < 0) return Error::from_errno("io_uring_queue_init", -rc);
  q->ring_ready_ = true;
  rc = io_uring_register_eventfd(&q->ring_, q->event_.fd());
  if (rc < 0) return Error::from_errno("io_uring_register_eventfd", -rc);
  return q;
}

UringDiskQueue::UringDiskQueue(DiskImage& image, const ImageFile& file, RingMapper* mapper,
                               EventFd event, unsigned slots)
    : image_(image), file_(file), mapper_(mapper), event_(std::move(event)), slots_(slots) {
  for (uint32_t i = slots; i > 0; --i) free_slots_.push_back(i - 1);
}

UringDiskQueue::~UringDiskQueue() {
  if (!ring_ready_) return;
  // The kernel may still write into request buffers: wait for every in-flight request.
  if (unsubmitted_ > 0) io_uring_submit(&ring_);
  size_t in_flight = slots_.size() - free_slots_.size();
  while (in_flight > 0) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe(&ring_, &cqe) < 0) break;
    uint64_t index = io_uring_cqe_get_data64(cqe);
    io_uring_cqe_seen(&ring_, cqe);
    if (index < slots_.size() && slots_[index].used) finish_slot(index);
    --in_flight;
  }
  io_uring_queue_exit(&ring_);
}

void UringDiskQueue::complete_sync(const IoRequest& request) {
  ready_.push_back({request.cookie, execute_sync(image_, request)});
  (void)event_.signal();
}

void UringDiskQueue::finish_slot(uint64_t index) {
  Slot& slot = slots_[index];
  slot.used = false;
  if (slot.mapped) mapper_->release_ring_mapping();
  slot.mapped = false;
  free_slots_.push_back(static_cast<uint32_t>(index));
}

bool UringDiskQueue::try_queue(const IoRequest& request) {
  if (free_slots_.empty()) return false;
  // Where the data lies in the file: the guest offset for raw, the mapper's answer for qcow2
  // (asked only now, when the request goes to the ring, so that the mapping is current).
  uint64_t file_offset = request.offset;
  bool mapped = false;
  if (mapper_ != nullptr) {
    bool data = request.op == IoOp::kRead || request.op == IoOp::kWrite;
    if (!data ||
        !mapper_->map_for_ring(request.op, request.offset, iov_length(request.iov), &file_offset)) {
      complete_sync(request);
      return true;
    }
    mapped = true;
    if (file_.needs_bounce(request.iov, file_offset)) {
      mapper_->release_ring_mapping();
      complete_sync(request);
      return true;
    }
  }
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe && unsubmitted_ > 0) {
    io_uring_submit(&ring_);
    unsubmitted_ = 0;
    sqe = io_uring_get_sqe(&ring_);
  }
  if (!sqe) {
    if (mapped) mapper_->release_ring_mapping();
    return false;
  }
  uint32_t index = free_slots_.back();
  free_slots_.pop_back();
  Slot& slot = slots_[index];
  slot.request = request;
  slot.used = true;
  slot.mapped = mapped;
  slot.expected = 0;
  int fd = file_.fd();
  auto count = static_cast<unsigned>(request.iov.size());
  switch (request.op) {
    case IoOp::kRead:
      slot.expected = iov_length(request.iov);
      io_uring_prep_readv(sqe, fd, request.iov.data(), count, file_offset);
      break;
    case IoOp::kWrite:
      slot.expected = iov_length(request.iov);
      io_uring_prep_writev(sqe, fd, request.iov.data(), count, file_offset);
      break;
    case IoOp::kFlush:
      io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
      break;
    case IoOp::kDiscard:
      io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                              static_cast<off_t>(request.offset),
                              static_cast<off_t>(request.length));
      break;
    case IoOp::kWriteZeroes:
      io_uring_prep_fallocate(
          sqe, fd,
          (request.may_unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE) | FALLOC_FL_KEEP_SIZE,
          static_cast<off_t>(request.offset), static_cast<off_t>(request.length));
      break;
  }
  if (slot.expected != 0) ++ring_transfers_;
  io_uring_sqe_set_data64(sqe, index);
  ++unsubmitted_;
  return true;
}

Status UringDiskQueue::submit(const IoRequest& request) {
  bool data = request.op == IoOp::kRead || request.op == IoOp::kWrite;
  // Range checks, read-only refusal and unaligned O_DIRECT go through the synchronous path,
  // which reports them precisely.
  bool in_range = data
                      ? range_within(request.offset, iov_length(request.iov), image_.virtual_size())
                      : (request.op == IoOp::kFlush ||
                         range_within(request.offset, request.length, image_.virtual_size()));
  if (!in_range || (request.op != IoOp::kRead && image_.read_only()) ||
      (data && (request.iov.size() > IOV_MAX || file_.needs_bounce(request.iov, request.offset)))) {
    complete_sync(request);
    return {};
  }
  if (!backlog_.empty() || !try_queue(request)) backlog_.push_back(request);
  return {};
}

void UringDiskQueue::kick() {
  if (unsubmitted_ == 0) return;
  io_uring_submit(&ring_);
  unsubmitted_ = 0;
}

void UringDiskQueue::fill_from_backlog() {
  while (!backlog_.empty() && try_queue(backlog_.front())) backlog_.pop_front();
  kick();
}

bool UringDiskQueue::has_completions() const {
  return !ready_.empty() || io_uring_cq_ready(&ring_) > 0;
}

size_t UringDiskQueue::reap(std::vector<IoCompletion>& out) {
  event_.consume();
  size_t n = ready_.size();
  out.insert(out.end(), ready_.begin(), ready_.end());
  ready_.clear();
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(&ring_, &cqe) == 0 && cqe) {
    uint64_t index = io_uring_cqe_get_data64(cqe);
    int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    if (index >= slots_.size() || !slots_[index].used) continue;
    const Slot& slot = slots_[index];
    const IoRequest req = slot.request;
    int result = res < 0 ? res : 0;
    if (res >= 0 && slot.expected != 0 && static_cast<uint64_t>(res) != slot.expected) {
      result = execute_sync(image_, req);  // short transfer: redo it the careful way
    } else if (res == -EOPNOTSUPP && req.op == IoOp::kDiscard) {
      result = 0;  // discard is a hint
    } else if ((res == -EOPNOTSUPP || res == -EINVAL) && req.op == IoOp::kWriteZeroes) {
      result = execute_sync(image_, req);  // falls back to writing zeros
    }
    // The reference is dropped only now: a redo above ran while the clusters were still held.
    finish_slot(index);
    out.push_back({req.cookie, result});
    ++n;
  }
  // The synchronous fallbacks above may have added to ready_.
  n += ready_.size();
  out.insert(out.end(), ready_.begin(), ready_.end());
  ready_.clear();
  fill_from_backlog();
  return n;
}

}  // namespace vmkit
