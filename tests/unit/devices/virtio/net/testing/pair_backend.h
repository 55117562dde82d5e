// A NetBackend for tests, fuzzers and benchmarks: each queue is one end of a SOCK_SEQPACKET
// socketpair (non-blocking, one message per frame, vnet header included), and the test holds
// the other end. Frames the device sends appear on the peer; frames written to the peer are
// what the device receives. A frame larger than the buffers is cut to them, as by a tap.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "net/net_backend.h"

namespace vmkit::testing {

class PairBackend final : public NetBackend {
 public:
  struct Queue final : public NetQueue {
    UniqueFd dev, peer;
    bool enabled = true;
    int enable_calls = 0;

    Result<SendResult> send(std::span<const iovec> iov) override {
      msghdr m{};
      m.msg_iov = const_cast<iovec*>(iov.data());
      m.msg_iovlen = iov.size();
      if (::sendmsg(dev.get(), &m, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return SendResult::kSent;
      if (errno == EAGAIN) return SendResult::kWouldBlock;
      return SendResult::kDropped;
    }
    Result<size_t> receive(std::span<const iovec> iov) override {
      msghdr m{};
      m.msg_iov = const_cast<iovec*>(iov.data());
      m.msg_iovlen = iov.size();
      ssize_t n = ::recvmsg(dev.get(), &m, MSG_DONTWAIT);  // cut to the buffers, like a tap
      if (n < 0 && errno == EAGAIN) return size_t{0};
      if (n < 0) return Error::from_errno("recvmsg");
      return static_cast<size_t>(n);
    }
    int rx_fd() const override { return dev.get(); }
    int tx_fd() const override { return dev.get(); }
    Status set_enabled(bool e) override {
      enabled = e;
      ++enable_calls;
      return {};
    }
  };

  explicit PairBackend(size_t queues = 1, NetOffloads offloads = {true, true, true, true},
                       int sndbuf = 0) {
    tx_ = rx_ = offloads;
    for (size_t i = 0; i < queues; ++i) {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) abort();
      auto q = std::make_unique<Queue>();
      q->dev.reset(sv[0]);
      q->peer.reset(sv[1]);
      if (sndbuf > 0) {
        ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        ::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
      }
      queues_.push_back(std::move(q));
    }
  }

  std::string describe() const override { return "pair"; }
  size_t num_queues() const override { return queues_.size(); }
  NetQueue& queue(size_t i) override { return *queues_[i]; }
  Queue& q(size_t i) { return *queues_[i]; }
  NetOffloads tx_offloads() const override { return tx_; }
  NetOffloads rx_offloads_supported() const override { return rx_; }
  Status set_rx_offloads(const NetOffloads& o) override {
    rx_set = o;
    return {};
  }

  // The test's side.
  bool inject(size_t queue, const VnetHeader& h, const std::vector<uint8_t>& frame) {
    iovec iov[2] = {{const_cast<VnetHeader*>(&h), sizeof(h)},
                    {const_cast<uint8_t*>(frame.data()), frame.size()}};
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = 2;
    return ::sendmsg(queues_[queue]->peer.get(), &m, MSG_DONTWAIT) >= 0;
  }
  // The next frame the device sent (header included), if any.
  std::optional<std::vector<uint8_t>> take(size_t queue) {
    std::vector<uint8_t> buf(70000);
    ssize_t n = ::recv(queues_[queue]->peer.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return buf;
  }

  NetOffloads tx_, rx_;
  std::optional<NetOffloads> rx_set;

 private:
  std::vector<std::unique_ptr<Queue>> queues_;
};

}  // namespace vmkit::testing
