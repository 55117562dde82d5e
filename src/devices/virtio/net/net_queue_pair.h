// One virtio-net queue pair (receiveq N, transmitq N) and its backend queue, served by one I/O
// thread whose epoll loop watches the transmit queue's notification, the receive queue's
// notification (the guest added buffers), the backend's fds and a control eventfd.
//
// Transmit: each chain is "virtio-net header + frame" in device-readable buffers; the header is
// copied and checked (net_header.h), the frame goes to the backend with writev over iovecs
// into guest memory, after the checked copy of the header. Bad headers and short chains are
// dropped and counted.
//
// Receive: chains are popped ahead into a stash (at most the queue's size) until they can hold
// the largest frame the negotiated offloads allow; the backend reads the frame straight into
// them (readv), with a host scratch buffer behind for frames larger than the buffers the guest
// gave. With VIRTIO_NET_F_MRG_RXBUF a frame spans as many chains as it needs (num_buffers);
// without, it must fit its chain or it is dropped. When the guest has no receive buffers the
// backend's fd is not polled (frames wait in the kernel's tap queue, or in the user-mode
// backlog), so host memory does not grow. Many frames are moved per wakeup and the guest gets
// at most one interrupt per batch (EVENT_IDX decides whether it wants it).
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/event_fd.h"
#include "base/result.h"
#include "devices/virtio/net/rx_filter.h"
#include "net/net_backend.h"
#include "virtio/io_thread.h"
#include "virtio/virtio_device.h"

namespace vmkit::net {

// Counters of one queue pair (written by its thread, read by anyone).
struct QueueStats {
  std::atomic<uint64_t> tx_frames{0}, tx_bytes{0};
  std::atomic<uint64_t> tx_dropped{0};  // bad header, chain too short: the guest's fault
  std::atomic<uint64_t> tx_errors{0};   // the backend refused the frame
  std::atomic<uint64_t> rx_frames{0}, rx_bytes{0};
  std::atomic<uint64_t> rx_dropped{0};   // larger than the guest's buffers
  std::atomic<uint64_t> rx_filtered{0};  // not for the guest's MAC/VLAN filter
  std::atomic<uint64_t> rx_stalls{0};    // times the guest ran out of receive buffers
};

// State every pair of a device shares. The filter is replaced whole by the control queue
// (under `filter_mutex`, generation bumped); pairs pick the new one up at their next batch.
struct NetShared {
  const GuestMemory* memory = nullptr;
  VirtioInterrupt* interrupt = nullptr;
  uint64_t features = 0;
  std::mutex filter_mutex;
  std::shared_ptr<const RxFilter> filter;
  std::atomic<uint64_t> filter_generation{0};
  // Whether the backend produces GSO frames now (sizes the receive stash).
  std::atomic<bool> rx_gso{false};

  void publish_filter(std::shared_ptr<const RxFilter> f) {
    std::lock_guard lock(filter_mutex);
    filter = std::move(f);
    filter_generation.fetch_add(1, std::memory_order_release);
  }
};

class NetQueuePair {
 public:
  static constexpr size_t kBatch = 256;  // frames per direction per wakeup

  NetQueuePair(uint16_t index, NetShared& shared, NetQueue& backend, std::optional<ActiveQueue> rx,
               std::optional<ActiveQueue> tx);
  ~NetQueuePair();
  NetQueuePair(const NetQueuePair&) = delete;
  NetQueuePair& operator=(const NetQueuePair&) = delete;

  // Serves the pair from its own thread ("net-qN") until stop(). `active` says whether the
  // guest uses it (pair 0 always; others after VQ_PAIRS_SET).
  Status start_thread(bool active);
  // Joins the thread; afterwards no guest memory is referenced.
  void stop();
  EventLoop* loop() { return thread_ ? &thread_->loop() : nullptr; }
  uint16_t index() const { return index_; }
  const QueueStats& stats() const { return stats_; }

  // Asks the pair's thread to (de)activate: attach or detach the backend queue and start or
  // stop polling it. Returns at once.
  void request_active(bool active);

  // The thread's work, for driving the pair by hand (fuzzers, benchmarks): one thread only.
  void process_tx();
  void process_rx();
  void service_backend();
  void set_active_now(bool active);

 private:
  struct Stashed {
    uint16_t head = 0;
    uint64_t room = 0;
    std::vector<iovec> iov;
  };
  struct Pending {      // a frame larger than the chains it was read into: the rest is in scratch
    size_t total = 0;   // frame length with its header
    size_t placed = 0;  // bytes in guest chains so far
    size_t chains = 0;  // stash chains holding them
    size_t scratch_start = 0;  // frame offset of scratch_[0]
  };

  void on_event(int fd, uint32_t events);
  void update_watches();
  void watch(int fd, uint32_t events);
  void fail(const Error& error);
  void finish_batch(std::optional<ActiveQueue>& q, bool& used);

  // tx
  void send_chain();
  // rx
  void refresh_filter();
  bool fill_stash(uint64_t target);
  Stashed& stash_at(size_t i) { return stash_[(stash_head_ + i) % stash_.size()]; }
  void receive_one(size_t n, size_t included_chains, uint64_t included_room);
  bool place_pending();
  void complete_frame(size_t total, size_t chains);
  bool accepted_by_filter(size_t n);

  uint16_t index_;
  NetShared& shared_;
  NetQueue& backend_;
  std::optional<ActiveQueue> rx_, tx_;
  bool mergeable_;
  std::unique_ptr<IoThread> thread_;
  EventFd control_;
  std::atomic<bool> want_active_{false};
  QueueStats stats_;

  // Owned by the thread.
  bool active_ = false;
  bool failed_ = false;
  bool rx_wants_backend_ = true;  // false while the guest has no receive buffers
  bool tx_blocked_ = false;       // send() said kWouldBlock
  bool rx_used_ = false, tx_used_ = false;
  std::vector<std::pair<int, uint32_t>> watched_;  // fd -> registered events
  DescriptorChain rx_chain_, tx_chain_;
  bool has_tx_chain_ = false;  // popped, waiting for the backend to take it
  bool backend_down_ = false;  // the backend failed (e.g. the tap was deleted)
  std::vector<iovec> iov_;
  VnetHeader tx_header_;
  std::vector<Stashed> stash_;  // ring of queue-size entries
  size_t stash_head_ = 0, stash_count_ = 0;
  uint64_t stash_room_ = 0;
  std::optional<Pending> pending_;
  std::vector<uint8_t> scratch_;
  std::shared_ptr<const RxFilter> filter_;
  uint64_t filter_generation_ = ~uint64_t{0};
};

}  // namespace vmkit::net
