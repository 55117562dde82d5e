// User-mode networking with libslirp (the library QEMU's `-netdev user` uses): the guest is on a
// private 10.0.2.0/24 network behind a NAT run inside vmkit, with the gateway at 10.0.2.2, DNS
// at 10.0.2.3 (forwarded to the host's resolver), DHCP handing out 10.0.2.15 onwards, IPv6
// (fec0::/64) like QEMU, outbound TCP/UDP through ordinary host sockets, and host ports
// forwarded into the guest (hostfwd). No privileges needed.
//
// One queue. libslirp is single-threaded: every call into it happens on the thread that uses
// the queue (the device's I/O thread), driven by service_fd(), an epoll fd over slirp's sockets,
// a timerfd for its timers and a wake-up eventfd. Frames slirp produces for the guest wait in a
// bounded backlog (kBacklogFrames); when the guest does not take them, newer ones are dropped
// and counted (TCP recovers by retransmitting), so host memory does not grow.
#pragma once

#include <poll.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/event_fd.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "net/net_backend.h"
#include "net/net_options.h"

struct Slirp;

namespace vmkit {

struct SlirpParams {
  std::vector<HostForward> hostfwd;
  bool ipv6 = true;
};

class SlirpBackend final : public NetBackend, public NetQueue {
 public:
  static constexpr size_t kBacklogFrames = 512;
  static constexpr size_t kMtu = 1500;

  // Binds every host forward (an error names the one that failed).
  static Result<std::unique_ptr<SlirpBackend>> create(const SlirpParams& params);
  ~SlirpBackend() override;

  // NetBackend
  std::string describe() const override { return "user"; }
  size_t num_queues() const override { return 1; }
  NetQueue& queue(size_t) override { return *this; }
  NetOffloads tx_offloads() const override { return {}; }
  NetOffloads rx_offloads_supported() const override { return {}; }
  Status set_rx_offloads(const NetOffloads&) override { return {}; }

  // NetQueue
  Result<SendResult> send(std::span<const iovec> iov) override;
  Result<size_t> receive(std::span<const iovec> iov) override;
  int rx_fd() const override { return rx_ready_.fd(); }
  int tx_fd() const override { return -1; }
  int service_fd() const override { return epoll_.get(); }
  void service() override;
  uint64_t dropped() const override { return dropped_; }

  // For tests: frames waiting for the guest.
  size_t backlog_size() const { return backlog_.size(); }

 private:
  struct Timer;
  SlirpBackend(UniqueFd epoll, UniqueFd timer, EventFd wake, EventFd rx_ready);

  friend struct SlirpCallbacks;  // libslirp callbacks (opaque = this)

  void deliver(const uint8_t* frame, size_t len);
  void run_timers();
  // Asks slirp which sockets to watch and for how long, and updates the epoll set and timer.
  void refill();
  void kick();

  Slirp* slirp_ = nullptr;
  UniqueFd epoll_;
  UniqueFd timer_;
  EventFd wake_;      // in epoll_: service() soon (after send(), notify)
  EventFd rx_ready_;  // readable while the backlog is not empty
  bool kicked_ = false;
  std::vector<pollfd> pollfds_;
  std::unordered_map<int, uint32_t> watched_;  // fd -> epoll events registered in epoll_
  std::vector<std::unique_ptr<Timer>> timers_;
  std::deque<std::vector<uint8_t>> backlog_;
  std::vector<std::vector<uint8_t>> spare_;  // recycled frame buffers
  std::vector<uint8_t> tx_buffer_;
  uint64_t dropped_ = 0;
};

}  // namespace vmkit
