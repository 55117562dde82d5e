// A tap interface (/dev/net/tun) as a network backend: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR with a
// 12-byte vnet header, non-blocking, and IFF_MULTI_QUEUE with one fd per queue when there are
// several. The interface is created when it does not exist (that needs CAP_NET_ADMIN and it
// goes away with vmkit) or attached to when it does (`ip tuntap add dev NAME mode tap
// [multi_queue] [user U]` lets an unprivileged vmkit use it). Configuring the host side of the
// interface (address, bridge, up) is left to the user, as with QEMU.
//
// Frames are moved with readv/writev straight from and into the caller's iovecs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "net/net_backend.h"

namespace vmkit {

class TapBackend final : public NetBackend {
 public:
  static Result<std::unique_ptr<TapBackend>> open(const std::string& ifname, uint16_t queues);
  ~TapBackend() override;

  std::string describe() const override { return "tap " + ifname_; }
  size_t num_queues() const override { return queues_.size(); }
  NetQueue& queue(size_t index) override;
  NetOffloads tx_offloads() const override;
  NetOffloads rx_offloads_supported() const override { return rx_supported_; }
  Status set_rx_offloads(const NetOffloads& offloads) override;

  const std::string& ifname() const { return ifname_; }

 private:
  class Queue;
  TapBackend(std::string ifname, std::vector<std::unique_ptr<Queue>> queues, NetOffloads rx);

  std::string ifname_;
  std::vector<std::unique_ptr<Queue>> queues_;
  NetOffloads rx_supported_;
};

}  // namespace vmkit
