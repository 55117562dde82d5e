// An io_uring DiskQueue over a raw image's file: submit() fills submission entries, kick()
// pushes the batch with one io_uring_submit, completions are signalled on an eventfd registered
// with io_uring_register_eventfd and collected by reap(). Requests the ring cannot take as they
// are (unaligned O_DIRECT, too many iovecs) or whose result needs a fallback (short transfers,
// fallocate unsupported) run through the image's synchronous path. One queue per thread.
// With a RingMapper (qcow2), only data transfers the mapper places in the file go to the ring,
// at the file offsets it gives; everything else runs through the image's synchronous path.
#pragma once

#include <liburing.h>

#include <deque>
#include <memory>
#include <vector>

#include "base/event_fd.h"
#include "disk/disk_image.h"
#include "disk/image_file.h"
#include "disk/ring_mapper.h"

namespace vmkit {

class UringDiskQueue final : public DiskQueue {
 public:
  // `mapper`, if given, outlives the queue (it is the image itself).
  static Result<std::unique_ptr<UringDiskQueue>> create(DiskImage& image, const ImageFile& file,
                                                        unsigned depth,
                                                        RingMapper* mapper = nullptr);
  ~UringDiskQueue() override;

  int event_fd() const override { return event_.fd(); }
  Status submit(const IoRequest& request) override;
  void kick() override;
  size_t reap(std::vector<IoCompletion>& out) override;
  bool has_completions() const override;

  // Reads and writes that went to the ring (the others ran synchronously).
  uint64_t ring_transfers() const { return ring_transfers_; }

 private:
  struct Slot {
    IoRequest request;
    uint64_t expected = 0;  // bytes for read/write
    bool used = false;
    bool mapped = false;  // holds a RingMapper reference
  };

  UringDiskQueue(DiskImage& image, const ImageFile& file, RingMapper* mapper, EventFd event,
                 unsigned slots);
  // Puts a request into a submission entry (or, when the mapper says it needs metadata work,
  // completes it synchronously); false when the ring or the slots are full.
  bool try_queue(const IoRequest& request);
  void finish_slot(uint64_t index);
  void complete_sync(const IoRequest& request);
  void fill_from_backlog();

  DiskImage& image_;
  const ImageFile& file_;
  RingMapper* mapper_;
  EventFd event_;
  io_uring ring_{};
  bool ring_ready_ = false;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::deque<IoRequest> backlog_;
  std::vector<IoCompletion> ready_;  // completed without the ring
  unsigned unsubmitted_ = 0;
  uint64_t ring_transfers_ = 0;
};

}  // namespace vmkit
