// A UUID (RFC 4122 byte order, as printed): random version 4, or parsed from text.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace vmkit {

struct Uuid {
  std::array<uint8_t, 16> bytes{};

  static Uuid random();
  // "8-4-4-4-12" hex digits, either case.
  static Result<Uuid> parse(std::string_view text);
  std::string to_string() const;  // lower case
  bool operator==(const Uuid&) const = default;
};

}  // namespace vmkit
