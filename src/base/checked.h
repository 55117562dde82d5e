// Overflow-checked arithmetic for sizes and addresses that come from guests, files or users.
#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>

namespace vmkit {

template <typename T>
requires std::is_unsigned_v<T>
constexpr std::optional<T> checked_add(T a, T b) {
  T r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

template <typename T>
requires std::is_unsigned_v<T>
constexpr std::optional<T> checked_mul(T a, T b) {
  T r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// True when [offset, offset + len) lies inside [0, size) without overflow.
constexpr bool range_within(uint64_t offset, uint64_t len, uint64_t size) {
  return offset <= size && len <= size - offset;
}

constexpr bool is_power_of_two(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

constexpr uint64_t align_up(uint64_t v, uint64_t align) {
  return (v + align - 1) & ~(align - 1);
}
constexpr uint64_t align_down(uint64_t v, uint64_t align) {
  return v & ~(align - 1);
}

}  // namespace vmkit
