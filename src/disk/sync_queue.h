// The default DiskQueue: each request runs synchronously inside submit(); its completion waits
// in a list and the queue's eventfd is signalled, so the device sees the same protocol as with
// io_uring. The default for images without a queue of their own, and the fallback where
// io_uring is unavailable.
// One queue belongs to one thread (the virtqueue's); the image itself may be shared.
#pragma once

#include <vector>

#include "base/event_fd.h"
#include "disk/disk_image.h"

namespace vmkit {

class SyncDiskQueue final : public DiskQueue {
 public:
  static Result<std::unique_ptr<SyncDiskQueue>> create(DiskImage& image);

  int event_fd() const override { return event_.fd(); }
  Status submit(const IoRequest& request) override;
  void kick() override {}
  size_t reap(std::vector<IoCompletion>& out) override;
  bool has_completions() const override { return !ready_.empty(); }

 private:
  SyncDiskQueue(DiskImage& image, EventFd event) : image_(image), event_(std::move(event)) {}
  DiskImage& image_;
  EventFd event_;
  std::vector<IoCompletion> ready_;
};

}  // namespace vmkit
