// An Ethernet MAC address: parsed from and formatted as "52:54:00:12:34:56", with a random
// locally administered unicast default (the second-lowest bit of the first byte set, the
// lowest clear), as QEMU and the kernel's eth_random_addr() do.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace vmkit {

class MacAddress {
 public:
  static constexpr size_t kSize = 6;
  using Bytes = std::array<uint8_t, kSize>;

  constexpr MacAddress() = default;
  constexpr explicit MacAddress(const Bytes& bytes) : bytes_(bytes) {}

  // Six two-digit hex bytes separated by ':' (or '-'); case-insensitive.
  static Result<MacAddress> parse(std::string_view text);
  // A random locally administered unicast address (getrandom(2)).
  static MacAddress random_local();
  static constexpr MacAddress broadcast() {
    return MacAddress({0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  }

  const Bytes& bytes() const { return bytes_; }
  std::string to_string() const;  // lower-case "52:54:00:12:34:56"

  bool is_multicast() const { return (bytes_[0] & 1) != 0; }  // broadcast included
  bool is_broadcast() const { return *this == broadcast(); }
  bool is_locally_administered() const { return (bytes_[0] & 2) != 0; }
  bool is_zero() const { return *this == MacAddress(); }

  friend constexpr bool operator==(const MacAddress&, const MacAddress&) = default;

 private:
  Bytes bytes_{};
};

}  // namespace vmkit
