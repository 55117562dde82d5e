// The options of one network card as the command line gives them:
//   tap,ifname=NAME[,mac=MAC][,queues=N][,link=on|off]
//   user[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...[,mac=MAC][,link=on|off]
// The first item names the backend. `hostfwd` may be repeated. User-mode networking gives the
// guest QEMU's network: 10.0.2.0/24, the host (gateway) at 10.0.2.2, DNS at 10.0.2.3, DHCP
// leases from 10.0.2.15. Errors are one line naming the option and the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/mac_address.h"

namespace vmkit {

// IPv4 addresses in host byte order.
inline constexpr uint32_t kUserNetwork = 0x0a000200;     // 10.0.2.0
inline constexpr uint32_t kUserNetmask = 0xffffff00;     // /24
inline constexpr uint32_t kUserHost = 0x0a000202;        // 10.0.2.2
inline constexpr uint32_t kUserNameserver = 0x0a000203;  // 10.0.2.3
inline constexpr uint32_t kUserDhcpStart = 0x0a00020f;   // 10.0.2.15
inline constexpr uint16_t kMaxNetQueuePairs = 16;
inline constexpr size_t kMaxHostForwards = 64;

enum class NetBackendKind { kTap, kUser };

struct HostForward {
  bool udp = false;
  uint32_t host_addr = 0;  // 0: every host address (INADDR_ANY), as QEMU
  uint16_t host_port = 0;
  uint32_t guest_addr = kUserDhcpStart;
  uint16_t guest_port = 0;

  // "tcp:0.0.0.0:2222-10.0.2.15:22"
  std::string to_string() const;
  friend bool operator==(const HostForward&, const HostForward&) = default;
};

struct NetOptions {
  NetBackendKind kind = NetBackendKind::kUser;
  std::string ifname;                // tap: the interface name (at most 15 bytes)
  std::optional<MacAddress> mac;     // unset: a random locally administered one
  uint16_t queues = 1;               // tap: queue pairs (multi-queue tap when > 1)
  bool link_up = true;               // the link state the guest sees
  std::vector<HostForward> hostfwd;  // user: host ports forwarded into the guest
};

Result<NetOptions> parse_net_options(std::string_view text);

// One hostfwd value: "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT".
Result<HostForward> parse_host_forward(std::string_view text);

// "a.b.c.d" <-> host-order IPv4.
Result<uint32_t> parse_ipv4(std::string_view text);
std::string format_ipv4(uint32_t addr);

}  // namespace vmkit
