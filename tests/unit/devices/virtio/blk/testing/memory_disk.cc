#include "memory_disk.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/checked.h"

namespace vmkit::testing {

int MemoryDisk::execute(const IoRequest& r) {
  if (int err = fail_next_.exchange(0)) return -err;
  std::lock_guard lock(mu_);
  ops_.push_back(r.op);
  uint64_t total = 0;
  for (const iovec& v : r.iov) total += v.iov_len;
  switch (r.op) {
    case IoOp::kRead:
    case IoOp::kWrite: {
      if (!range_within(r.offset, total, bytes_.size())) return -EINVAL;
      if (r.op == IoOp::kWrite && read_only_) return -EROFS;
      uint64_t at = r.offset;
      for (const iovec& v : r.iov) {
        if (r.op == IoOp::kRead) {
          std::memcpy(v.iov_base, bytes_.data() + at, v.iov_len);
        } else {
          std::memcpy(bytes_.data() + at, v.iov_base, v.iov_len);
        }
        at += v.iov_len;
      }
      return 0;
    }
    case IoOp::kFlush:
      flushes_.fetch_add(1);
      return 0;
    case IoOp::kDiscard:
    case IoOp::kWriteZeroes:
      if (!range_within(r.offset, r.length, bytes_.size())) return -EINVAL;
      if (read_only_) return -EROFS;
      std::fill_n(bytes_.begin() + static_cast<long>(r.offset), r.length, 0);
      return 0;
  }
  return -EINVAL;
}

Status MemoryDisk::read(uint64_t offset, std::span<const iovec> iov) {
  int r = execute(IoRequest{IoOp::kRead, offset, 0, iov, false, 0});
  return r == 0 ? Status() : Status(Error::from_errno("memory disk read", -r));
}
Status MemoryDisk::write(uint64_t offset, std::span<const iovec> iov) {
  int r = execute(IoRequest{IoOp::kWrite, offset, 0, iov, false, 0});
  return r == 0 ? Status() : Status(Error::from_errno("memory disk write", -r));
}
Status MemoryDisk::flush() {
  int r = execute(IoRequest{IoOp::kFlush, 0, 0, {}, false, 0});
  return r == 0 ? Status() : Status(Error::from_errno("memory disk flush", -r));
}
Status MemoryDisk::discard(uint64_t offset, uint64_t length) {
  int r = execute(IoRequest{IoOp::kDiscard, offset, length, {}, false, 0});
  return r == 0 ? Status() : Status(Error::from_errno("memory disk discard", -r));
}
Status MemoryDisk::write_zeroes(uint64_t offset, uint64_t length, bool may_unmap) {
  int r = execute(IoRequest{IoOp::kWriteZeroes, offset, length, {}, may_unmap, 0});
  return r == 0 ? Status() : Status(Error::from_errno("memory disk write-zeroes", -r));
}

Result<std::unique_ptr<DiskQueue>> MemoryDisk::open_queue(unsigned) {
  auto q = std::make_unique<MemoryDiskQueue>(*this, TRY(EventFd::create()));
  attach(q.get());
  return std::unique_ptr<DiskQueue>(std::move(q));
}

void MemoryDisk::attach(MemoryDiskQueue* q) {
  std::lock_guard lock(mu_);
  queues_.push_back(q);
}

void MemoryDisk::detach(MemoryDiskQueue* q) {
  std::lock_guard lock(mu_);
  std::erase(queues_, q);
}

void MemoryDisk::release_all() {
  std::vector<MemoryDiskQueue*> queues;
  {
    std::lock_guard lock(mu_);
    queues = queues_;
  }
  for (auto* q : queues) q->release();
}

size_t MemoryDisk::held() {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (auto* q : queues_) n += q->held();
  return n;
}

std::vector<uint8_t> MemoryDisk::contents(uint64_t offset, uint64_t len) {
  std::lock_guard lock(mu_);
  return std::vector<uint8_t>(bytes_.begin() + static_cast<long>(offset),
                              bytes_.begin() + static_cast<long>(offset + len));
}

void MemoryDisk::fill(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  std::copy(data.begin(), data.end(), bytes_.begin() + static_cast<long>(offset));
}

std::vector<IoOp> MemoryDisk::ops() {
  std::lock_guard lock(mu_);
  return ops_;
}

Status MemoryDiskQueue::submit(const IoRequest& request) {
  if (disk_.deferred()) {
    std::lock_guard lock(mu_);
    held_.push_back(request);
    return {};
  }
  int result = disk_.execute(request);
  {
    std::lock_guard lock(mu_);
    ready_.push_back(IoCompletion{request.cookie, result});
  }
  return event_.signal();
}

void MemoryDiskQueue::release() {
  std::deque<IoRequest> held;
  {
    std::lock_guard lock(mu_);
    held.swap(held_);
  }
  if (held.empty()) return;
  for (const IoRequest& r : held) {
    int result = disk_.execute(r);
    std::lock_guard lock(mu_);
    ready_.push_back(IoCompletion{r.cookie, result});
  }
  (void)event_.signal();
}

size_t MemoryDiskQueue::held() {
  std::lock_guard lock(mu_);
  return held_.size();
}

bool MemoryDiskQueue::has_completions() const {
  std::lock_guard lock(mu_);
  return !ready_.empty();
}

size_t MemoryDiskQueue::reap(std::vector<IoCompletion>& out) {
  event_.consume();
  std::lock_guard lock(mu_);
  size_t n = ready_.size();
  out.insert(out.end(), ready_.begin(), ready_.end());
  ready_.clear();
  return n;
}

}  // namespace vmkit::testing
