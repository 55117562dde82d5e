// Which received frames the guest wants (virtio 1.2, 5.1.6.5.1-3), as the driver programs it
// through the control queue: promiscuous and all-multicast modes, the extra modes
// (all-unicast, no-multicast, no-unicast, no-broadcast), the unicast and multicast MAC tables
// and the VLAN filter. Frames it rejects are dropped by the device and counted as filtered.
// The initial state is promiscuous, as QEMU's, so a driver that never programs the filter
// receives everything.
#pragma once

#include <bitset>
#include <cstdint>
#include <span>
#include <vector>

#include "net/mac_address.h"

namespace vmkit::net {

struct RxFilter {
  static constexpr size_t kMacTableEntries = 64;

  MacAddress mac;  // the device's own address
  bool promisc = true;
  bool allmulti = false;
  bool alluni = false;
  bool nomulti = false;
  bool nouni = false;
  bool nobcast = false;
  std::vector<MacAddress> unicast;
  std::vector<MacAddress> multicast;
  bool unicast_overflow = false;  // the driver gave more than kMacTableEntries: accept all
  bool multicast_overflow = false;
  bool vlan_filtering = false;  // VIRTIO_NET_F_CTRL_VLAN negotiated
  std::bitset<4096> vlans;

  // Whether a frame starting with `frame` (the Ethernet frame, no virtio-net header; at least
  // 14 bytes, 16 for a VLAN tag to be seen) passes.
  bool accepts(std::span<const uint8_t> frame) const;
  // True when every frame passes (the receive path then skips the check).
  bool accepts_all() const { return promisc; }
};

}  // namespace vmkit::net
