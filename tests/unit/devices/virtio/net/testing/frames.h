// Ethernet frames and virtio-net headers for the virtio-net tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "net/mac_address.h"
#include "net/net_backend.h"

namespace vmkit::testing {

// dst, src, ethertype 0x0800 and `payload` bytes counting up from `seed`.
inline std::vector<uint8_t> eth_frame(const MacAddress& dst, size_t payload, uint8_t seed = 0,
                                      uint16_t ethertype = 0x0800) {
  std::vector<uint8_t> f(14 + payload);
  std::memcpy(f.data(), dst.bytes().data(), 6);
  const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x99};
  std::memcpy(f.data() + 6, src, 6);
  f[12] = static_cast<uint8_t>(ethertype >> 8);
  f[13] = static_cast<uint8_t>(ethertype);
  for (size_t i = 0; i < payload; ++i) f[14 + i] = static_cast<uint8_t>(seed + i);
  return f;
}

inline std::vector<uint8_t> with_header(const VnetHeader& h, const std::vector<uint8_t>& frame) {
  std::vector<uint8_t> out(sizeof(h));
  std::memcpy(out.data(), &h, sizeof(h));
  out.insert(out.end(), frame.begin(), frame.end());
  return out;
}

inline VnetHeader header_of(const std::vector<uint8_t>& bytes) {
  VnetHeader h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  return h;
}

}  // namespace vmkit::testing
