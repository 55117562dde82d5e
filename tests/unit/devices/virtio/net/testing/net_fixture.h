// A NetDevice on a PairBackend, activated on fake guest memory through DeviceHarness: the test
// is the guest driver on one side and the host network on the other.
#pragma once

#include <poll.h>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "device_harness.h"
#include "devices/virtio/net/net_device.h"
#include "devices/virtio/net/net_spec.h"
#include "frames.h"
#include "pair_backend.h"

namespace vmkit::testing {

inline constexpr uint64_t kNetBase = DeviceHarness::kRingFeatures | net::kFeatureMac |
                                     net::kFeatureStatus | net::kFeatureCtrlVq |
                                     net::kFeatureCtrlRx | net::kFeatureCtrlRxExtra |
                                     net::kFeatureCtrlVlan | net::kFeatureCtrlMacAddr;
inline constexpr uint64_t kNetMrg = kNetBase | net::kFeatureMrgRxbuf;
inline constexpr uint64_t kNetOffloads = net::kFeatureCsum | net::kFeatureHostTso4 |
                                         net::kFeatureHostTso6 | net::kFeatureGuestCsum |
                                         net::kFeatureGuestTso4 | net::kFeatureGuestTso6;
inline const MacAddress kGuestMac({0x52, 0x54, 0x00, 0x12, 0x34, 0x56});

struct NetFixture {
  explicit NetFixture(size_t queues = 1, NetOffloads offloads = {true, true, true, true},
                      int sndbuf = 0)
      : backend(std::make_shared<PairBackend>(queues, offloads, sndbuf)) {
    NetDeviceParams p;
    p.backend = backend;
    p.mac = kGuestMac;
    dev = NetDevice::create(p).value();
    h = std::make_unique<DeviceHarness>(*dev);
  }
  ~NetFixture() { dev->reset(); }

  uint16_t rx(uint16_t pair = 0) const { return static_cast<uint16_t>(2 * pair); }
  uint16_t tx(uint16_t pair = 0) const { return static_cast<uint16_t>(2 * pair + 1); }
  uint16_t ctrl() const { return static_cast<uint16_t>(h->drivers.size() - 1); }

  // The next frame the device sent to the host, waiting up to a second.
  std::optional<std::vector<uint8_t>> host_take(
      size_t queue = 0, std::chrono::milliseconds wait = std::chrono::milliseconds(1000)) {
    pollfd p{backend->q(queue).peer.get(), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(wait.count()));
    return backend->take(queue);
  }

  // Sends `bytes` (header + frame) from the guest on transmit queue `pair`.
  void guest_send(const std::vector<uint8_t>& bytes, uint16_t pair = 0) {
    h->driver(tx(pair)).chain().readable(bytes).publish();
    h->kick(tx(pair));
  }

  std::shared_ptr<PairBackend> backend;
  std::unique_ptr<NetDevice> dev;
  std::unique_ptr<DeviceHarness> h;
};

}  // namespace vmkit::testing
