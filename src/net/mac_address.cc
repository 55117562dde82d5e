#include "net/mac_address.h"

#include <fmt/format.h>
#include <sys/random.h>

#include <random>

namespace vmkit {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<MacAddress> MacAddress::parse(std::string_view text) {
  auto bad = [&] {
    std::string shown;
    for (char c : text.substr(0, 40)) {
      auto u = static_cast<unsigned char>(c);
      shown += (u >= 0x20 && u < 0x7f) ? std::string(1, c) : fmt::format("\\x{:02x}", u);
    }
    return Error(fmt::format(
        "invalid MAC address '{}' (expected six hex bytes like 52:54:00:12:34:56)", shown));
  };
  // "xx:xx:xx:xx:xx:xx": 17 characters.
  if (text.size() != 17) return bad();
  char separator = text[2];
  if (separator != ':' && separator != '-') return bad();
  Bytes bytes{};
  for (size_t i = 0; i < kSize; ++i) {
    size_t at = i * 3;
    if (i > 0 && text[at - 1] != separator) return bad();
    int hi = hex_digit(text[at]);
    int lo = hex_digit(text[at + 1]);
    if (hi < 0 || lo < 0) return bad();
    bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return MacAddress(bytes);
}

MacAddress MacAddress::random_local() {
  Bytes bytes{};
  if (::getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    // getrandom(2) does not fail for 6 bytes once the pool is initialised; fall back anyway.
    std::random_device rd;
    for (auto& b : bytes) b = static_cast<uint8_t>(rd());
  }
  bytes[0] = static_cast<uint8_t>((bytes[0] & 0xfe) | 0x02);  // unicast, locally administered
  return MacAddress(bytes);
}

std::string MacAddress::to_string() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes_[0], bytes_[1], bytes_[2],
                     bytes_[3], bytes_[4], bytes_[5]);
}

}  // namespace vmkit
