// Hand-built Ethernet/IPv4/UDP/ARP/DHCP frames for the backend tests.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "net/mac_address.h"

namespace vmkit::testing {

inline uint16_t ip_checksum(const uint8_t* data, size_t len, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += uint32_t{data[i]} << 8 | data[i + 1];
  if (len & 1) sum += uint32_t{data[len - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

inline void put16(std::vector<uint8_t>& v, size_t at, uint16_t x) {
  v[at] = static_cast<uint8_t>(x >> 8);
  v[at + 1] = static_cast<uint8_t>(x);
}
inline void put32(std::vector<uint8_t>& v, size_t at, uint32_t x) {
  put16(v, at, static_cast<uint16_t>(x >> 16));
  put16(v, at + 2, static_cast<uint16_t>(x));
}
inline uint16_t get16(const std::vector<uint8_t>& v, size_t at) {
  return static_cast<uint16_t>(v[at] << 8 | v[at + 1]);
}
inline uint32_t get32(const std::vector<uint8_t>& v, size_t at) {
  return uint32_t{get16(v, at)} << 16 | get16(v, at + 2);
}

inline std::vector<uint8_t> ethernet(const MacAddress& dst, const MacAddress& src, uint16_t type,
                                     size_t payload) {
  std::vector<uint8_t> f(14 + payload);
  std::memcpy(f.data(), dst.bytes().data(), 6);
  std::memcpy(f.data() + 6, src.bytes().data(), 6);
  put16(f, 12, type);
  return f;
}

// Ethernet + IPv4 + UDP. With `partial` the UDP checksum field holds the pseudo-header sum
// (as a guest using checksum offload leaves it), else the full checksum.
inline std::vector<uint8_t> udp_frame(const MacAddress& dst, const MacAddress& src, uint32_t saddr,
                                      uint32_t daddr, uint16_t sport, uint16_t dport,
                                      const std::vector<uint8_t>& payload, bool partial = false,
                                      bool bad_checksum = false) {
  size_t udp_len = 8 + payload.size();
  auto f = ethernet(dst, src, 0x0800, 20 + udp_len);
  size_t ip = 14, udp = 34;
  f[ip] = 0x45;
  put16(f, ip + 2, static_cast<uint16_t>(20 + udp_len));
  f[ip + 8] = 64;
  f[ip + 9] = 17;
  put32(f, ip + 12, saddr);
  put32(f, ip + 16, daddr);
  put16(f, ip + 10, ip_checksum(f.data() + ip, 20));
  put16(f, udp, sport);
  put16(f, udp + 2, dport);
  put16(f, udp + 4, static_cast<uint16_t>(udp_len));
  std::memcpy(f.data() + udp + 8, payload.data(), payload.size());
  uint32_t pseudo = (saddr >> 16) + (saddr & 0xffff) + (daddr >> 16) + (daddr & 0xffff) + 17 +
                    static_cast<uint32_t>(udp_len);
  if (partial) {
    while (pseudo >> 16) pseudo = (pseudo & 0xffff) + (pseudo >> 16);
    put16(f, udp + 6, static_cast<uint16_t>(pseudo));
  } else {
    uint16_t c = ip_checksum(f.data() + udp, udp_len, pseudo);
    put16(f, udp + 6, static_cast<uint16_t>(bad_checksum ? c ^ 0x5555 : (c == 0 ? 0xffff : c)));
  }
  return f;
}

inline std::vector<uint8_t> arp_request(const MacAddress& src, uint32_t sender, uint32_t target) {
  auto f = ethernet(MacAddress::broadcast(), src, 0x0806, 28);
  put16(f, 14, 1);       // Ethernet
  put16(f, 16, 0x0800);  // IPv4
  f[18] = 6;
  f[19] = 4;
  put16(f, 20, 1);  // request
  std::memcpy(f.data() + 22, src.bytes().data(), 6);
  put32(f, 28, sender);
  put32(f, 38, target);
  return f;
}

// A DHCPDISCOVER from `mac`, broadcast.
inline std::vector<uint8_t> dhcp_discover(const MacAddress& mac) {
  std::vector<uint8_t> bootp(240 + 4, 0);
  bootp[0] = 1;  // BOOTREQUEST
  bootp[1] = 1;
  bootp[2] = 6;
  put32(bootp, 4, 0x12345678);  // xid
  std::memcpy(bootp.data() + 28, mac.bytes().data(), 6);
  put32(bootp, 236, 0x63825363);  // magic cookie
  bootp[240] = 53;                // message type
  bootp[241] = 1;
  bootp[242] = 1;  // DISCOVER
  bootp[243] = 255;
  return udp_frame(MacAddress::broadcast(), mac, 0, 0xffffffff, 68, 67, bootp);
}

}  // namespace vmkit::testing
