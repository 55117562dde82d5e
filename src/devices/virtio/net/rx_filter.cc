#include "devices/virtio/net/rx_filter.h"

#include <algorithm>
#include <cstring>

namespace vmkit::net {

bool RxFilter::accepts(std::span<const uint8_t> frame) const {
  if (promisc) return true;
  if (frame.size() < 14) return false;
  if (vlan_filtering && frame.size() >= 16 && frame[12] == 0x81 && frame[13] == 0x00) {
    unsigned vid = ((unsigned{frame[14]} << 8) | frame[15]) & 0xfff;
    if (!vlans.test(vid)) return false;
  }
  MacAddress::Bytes bytes;
  std::memcpy(bytes.data(), frame.data(), bytes.size());
  MacAddress dest(bytes);
  if (dest.is_broadcast()) return !nobcast;
  if (dest.is_multicast()) {
    if (nomulti) return false;
    if (allmulti || multicast_overflow) return true;
    return std::find(multicast.begin(), multicast.end(), dest) != multicast.end();
  }
  if (nouni) return false;
  if (alluni || unicast_overflow || dest == mac) return true;
  return std::find(unicast.begin(), unicast.end(), dest) != unicast.end();
}

}  // namespace vmkit::net
