// A guest-physical address: its own type so it cannot be mixed up with host pointers or sizes.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>

#include "base/checked.h"

namespace vmkit {

class GuestAddress {
 public:
  constexpr GuestAddress() = default;
  constexpr explicit GuestAddress(uint64_t value) : value_(value) {}

  constexpr uint64_t value() const { return value_; }
  // Overflow-checked offset; nullopt when the sum wraps.
  constexpr std::optional<GuestAddress> checked_add(uint64_t offset) const {
    auto sum = vmkit::checked_add<uint64_t>(value_, offset);
    if (!sum) return std::nullopt;
    return GuestAddress(*sum);
  }
  // Unchecked: only for addresses vmkit computes itself from its own constants.
  constexpr GuestAddress operator+(uint64_t offset) const { return GuestAddress(value_ + offset); }
  constexpr auto operator<=>(const GuestAddress&) const = default;

 private:
  uint64_t value_ = 0;
};

}  // namespace vmkit
