// Commands on the virtio-net control queue (virtio 1.2, 5.1.6.5): the parser checks a
// command's class, its feature gate and its exact data length before anything is applied; a
// command that fails gets VIRTIO_NET_ERR. A pure function of the bytes the guest gave:
// unit-tested and fuzzed.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "devices/virtio/net/rx_filter.h"
#include "net/mac_address.h"

namespace vmkit::net {

// The most bytes a command may have (a full MAC table of each kind is 2 * (4 + 64 * 6)).
inline constexpr size_t kMaxCtrlCommandBytes = 4096;

struct CtrlCommand {
  uint8_t cls = 0;
  uint8_t cmd = 0;
  bool on = false;                  // RX mode commands
  std::vector<MacAddress> unicast;  // MAC_TABLE_SET
  std::vector<MacAddress> multicast;
  bool unicast_overflow = false;
  bool multicast_overflow = false;
  MacAddress mac;         // MAC_ADDR_SET
  uint16_t vid = 0;       // VLAN_ADD/DEL
  uint16_t pairs = 0;     // MQ_VQ_PAIRS_SET
  uint64_t offloads = 0;  // GUEST_OFFLOADS_SET (GUEST_* feature bits)
};

struct CtrlLimits {
  uint64_t features = 0;  // negotiated
  uint16_t max_pairs = 1;
};

// `bytes` is the device-readable part of the chain: class, command, data.
Result<CtrlCommand> parse_ctrl_command(std::span<const uint8_t> bytes, const CtrlLimits& limits);

// Applies an RX-mode, MAC or VLAN command to `filter`. Other classes leave it alone.
void apply_to_filter(const CtrlCommand& command, RxFilter& filter);

}  // namespace vmkit::net
