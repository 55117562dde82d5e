#include "base/uuid.h"

#include <sys/random.h>

#include <cctype>
#include <cstdio>

namespace vmkit {

Uuid Uuid::random() {
  Uuid u;
  size_t done = 0;
  while (done < u.bytes.size()) {
    ssize_t n = ::getrandom(u.bytes.data() + done, u.bytes.size() - done, 0);
    if (n > 0) done += static_cast<size_t>(n);
  }
  u.bytes[6] = static_cast<uint8_t>((u.bytes[6] & 0x0f) | 0x40);  // version 4
  u.bytes[8] = static_cast<uint8_t>((u.bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return u;
}

Result<Uuid> Uuid::parse(std::string_view text) {
  auto bad = [&] { return Error("invalid UUID '" + std::string(text) + "'"); };
  if (text.size() != 36) return bad();
  Uuid u;
  size_t b = 0;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return bad();
      ++i;
      continue;
    }
    auto nibble = [](char c) -> int {
      if (std::isdigit(static_cast<unsigned char>(c))) return c - '0';
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return bad();
    u.bytes[b++] = static_cast<uint8_t>((hi << 4) | lo);
    i += 2;
  }
  return u;
}

std::string Uuid::to_string() const {
  char buf[37];
  std::snprintf(buf, sizeof(buf),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
                bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8],
                bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
  return buf;
}

}  // namespace vmkit
