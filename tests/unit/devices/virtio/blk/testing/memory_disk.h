// A DiskImage held in memory, for device tests, fuzzers and benchmarks. Its queues complete
// requests at once (as a synchronous backend does) or hold them until the test releases them
// (to check ordering: nothing reaches the guest before the disk says it is done). It records
// the operations it executed and can fail the next one with a chosen errno.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "base/event_fd.h"
#include "disk/disk_image.h"

namespace vmkit::testing {

class MemoryDiskQueue;

class MemoryDisk final : public DiskImage {
 public:
  explicit MemoryDisk(uint64_t size, bool read_only = false)
      : bytes_(size, 0), read_only_(read_only) {}
  ~MemoryDisk() override = default;

  std::string format() const override { return "raw"; }
  uint64_t virtual_size() const override { return bytes_.size(); }
  bool read_only() const override { return read_only_; }

  Status read(uint64_t offset, std::span<const iovec> iov) override;
  Status write(uint64_t offset, std::span<const iovec> iov) override;
  Status flush() override;
  Status discard(uint64_t offset, uint64_t length) override;
  Status write_zeroes(uint64_t offset, uint64_t length, bool may_unmap) override;
  Result<std::unique_ptr<DiskQueue>> open_queue(unsigned depth) override;

  // Runs one request; returns 0 or -errno (honours fail_next).
  int execute(const IoRequest& request);

  // Test controls.
  void set_deferred(bool deferred) { deferred_ = deferred; }
  bool deferred() const { return deferred_; }
  // Completes every held request of every queue.
  void release_all();
  size_t held();
  void fail_next(int err) { fail_next_ = err; }
  std::vector<uint8_t> contents(uint64_t offset, uint64_t len);
  void fill(uint64_t offset, std::span<const uint8_t> data);
  std::vector<IoOp> ops();
  int flushes() const { return flushes_.load(); }

 private:
  friend class MemoryDiskQueue;
  void attach(MemoryDiskQueue* q);
  void detach(MemoryDiskQueue* q);

  std::mutex mu_;  // guards bytes_, ops_, queues_
  std::vector<uint8_t> bytes_;
  std::vector<IoOp> ops_;
  std::vector<MemoryDiskQueue*> queues_;
  bool read_only_;
  std::atomic<bool> deferred_{false};
  std::atomic<int> fail_next_{0};
  std::atomic<int> flushes_{0};
};

class MemoryDiskQueue final : public DiskQueue {
 public:
  MemoryDiskQueue(MemoryDisk& disk, EventFd event) : disk_(disk), event_(std::move(event)) {}
  ~MemoryDiskQueue() override { disk_.detach(this); }
  int event_fd() const override { return event_.fd(); }
  Status submit(const IoRequest& request) override;
  void kick() override {}
  size_t reap(std::vector<IoCompletion>& out) override;
  bool has_completions() const override;
  // Completes held requests (called by MemoryDisk::release_all).
  void release();
  size_t held();

 private:
  MemoryDisk& disk_;
  EventFd event_;
  mutable std::mutex mu_;
  std::deque<IoRequest> held_;
  std::vector<IoCompletion> ready_;
};

}  // namespace vmkit::testing
