// Human sizes for command lines and config files: "512M", "2G", "4096", "1.5G" is refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace vmkit {

// Parses a byte count with an optional K/M/G/T suffix (powers of 1024, case-insensitive, an
// optional trailing "B" or "iB"). A bare number means `default_unit` bytes each.
Result<uint64_t> parse_size(std::string_view text, uint64_t default_unit = 1);

// 536870912 -> "512M"; sizes that are not a whole number of a unit print in bytes.
std::string format_size(uint64_t bytes);

}  // namespace vmkit
