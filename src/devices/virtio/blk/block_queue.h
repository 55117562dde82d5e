// One virtio-blk request queue served by its own I/O thread: the thread waits on the queue's
// notification eventfd and on its DiskQueue's completion eventfd, pops and parses chains,
// submits I/O with iovecs into guest memory, and on completion writes the status byte and the
// used ring, then interrupts the guest unless EVENT_IDX suppresses it.
//
// All state is owned by the thread while it runs; stop() joins it and waits for the requests
// still in flight, after which nothing references guest memory. Without start_thread() the
// queue is driven by hand (fuzzers, benchmarks): process_notify() and process_completions()
// on one thread.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <vector>

#include "base/result.h"
#include "devices/virtio/blk/block_request.h"
#include "disk/disk_image.h"
#include "virtio/io_thread.h"
#include "virtio/virtio_device.h"

namespace vmkit {

struct BlockQueueContext {
  const GuestMemory* memory = nullptr;
  VirtioInterrupt* interrupt = nullptr;
  BlockLimits limits;
  std::array<uint8_t, 20> id{};  // the GET_ID string, NUL-padded
  // How long the queue thread spins for new requests after a batch, with the driver's
  // notifications still off, before it re-enables them and sleeps; 0: never. Polling turns
  // itself off after kPollMisses windows in a row found nothing, and on again when a
  // notification comes within this time of the thread's last work (a batch, or completions
  // returned while it slept).
  uint64_t poll_max_ns = 0;
};

class BlockQueue {
 public:
  // Opens a DiskQueue on `image` and prepares the queue (no thread yet).
  static Result<std::unique_ptr<BlockQueue>> create(ActiveQueue queue,
                                                    const BlockQueueContext& context,
                                                    DiskImage& image);
  ~BlockQueue() { stop(); }
  BlockQueue(const BlockQueue&) = delete;
  BlockQueue& operator=(const BlockQueue&) = delete;

  // Serves the queue from its own I/O thread until stop().
  Status start_thread();
  void stop();

  // The work the thread does, for driving the queue by hand.
  void process_notify();
  void process_completions();
  size_t in_flight() const { return in_flight_; }
  int disk_event_fd() const { return disk_->event_fd(); }
  bool polling() const { return polling_; }

  static constexpr int kPollMisses = 16;

 private:
  struct Slot {
    bool busy = false;
    BlockRequest request;
  };

  BlockQueue(ActiveQueue queue, const BlockQueueContext& context, std::unique_ptr<DiskQueue> disk,
             std::unique_ptr<IoThread> thread);
  void handle(const DescriptorChain& chain);
  void complete(uint16_t head, uint8_t status, uint32_t used_len);
  void finish_batch();
  // While polling: spins for up to poll_max_ns (restarted by each completion it returns) until
  // the driver makes a buffer available: true then, with notifications still off.
  bool poll_for_requests();
  // On a notification: turns polling on if it came within poll_max_ns of the last work.
  void note_wakeup();
  void fail(const Error& error);
  void drain();

  ActiveQueue queue_;
  BlockQueueContext context_;
  std::unique_ptr<DiskQueue> disk_;
  std::unique_ptr<IoThread> thread_;
  DescriptorChain chain_;
  std::vector<Slot> slots_;  // indexed by head descriptor
  std::vector<IoCompletion> completions_;
  size_t in_flight_ = 0;
  uint64_t round_bytes_ = 0;  // data submitted since the last kick
  // Polling (context_.poll_max_ns > 0).
  using Clock = std::chrono::steady_clock;
  bool polling_ = false;
  int poll_misses_ = 0;  // windows in a row that found no request
  bool sleeping_ = false;
  Clock::time_point sleep_start_;
  bool used_added_ = false;
  bool failed_ = false;
  bool stopped_ = false;
};

}  // namespace vmkit
