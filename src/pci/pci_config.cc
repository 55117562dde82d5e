#include "pci/pci_config.h"

#include <fmt/format.h>

#include <cstring>

#include "base/checked.h"

namespace vmkit::pci {

uint16_t ConfigSpace::read16(size_t offset) const {
  return static_cast<uint16_t>(bytes_[offset] | (bytes_[offset + 1] << 8));
}

uint32_t ConfigSpace::read32(size_t offset) const {
  return static_cast<uint32_t>(read16(offset)) | (static_cast<uint32_t>(read16(offset + 2)) << 16);
}

void ConfigSpace::set16(size_t offset, uint16_t value) {
  bytes_[offset] = static_cast<uint8_t>(value);
  bytes_[offset + 1] = static_cast<uint8_t>(value >> 8);
}

void ConfigSpace::set32(size_t offset, uint32_t value) {
  set16(offset, static_cast<uint16_t>(value));
  set16(offset + 2, static_cast<uint16_t>(value >> 16));
}

void ConfigSpace::set_writable(size_t offset, std::span<const uint8_t> mask) {
  for (size_t i = 0; i < mask.size(); ++i) writable_[offset + i] = mask[i];
}

void ConfigSpace::set_writable16(size_t offset, uint16_t mask) {
  const uint8_t m[2] = {static_cast<uint8_t>(mask), static_cast<uint8_t>(mask >> 8)};
  set_writable(offset, m);
}

void ConfigSpace::set_writable32(size_t offset, uint32_t mask) {
  set_writable16(offset, static_cast<uint16_t>(mask));
  set_writable16(offset + 2, static_cast<uint16_t>(mask >> 16));
}

void ConfigSpace::read(size_t offset, std::span<uint8_t> out) const {
  std::memcpy(out.data(), bytes_.data() + offset, out.size());
}

void ConfigSpace::guest_write(size_t offset, std::span<const uint8_t> data) {
  for (size_t i = 0; i < data.size(); ++i) {
    uint8_t mask = writable_[offset + i];
    bytes_[offset + i] = static_cast<uint8_t>((bytes_[offset + i] & ~mask) | (data[i] & mask));
  }
}

Result<uint8_t> ConfigSpace::add_capability(std::span<const uint8_t> body,
                                            std::span<const uint8_t> writable) {
  if (body.size() < 2 || (!writable.empty() && writable.size() != body.size())) {
    return Error(fmt::format("pci capability of {} bytes is malformed", body.size()));
  }
  size_t offset = align_up(next_capability_, 4);
  if (!range_within(offset, body.size(), kConfigSize)) {
    return Error(
        fmt::format("pci capability of {} bytes does not fit in config space", body.size()));
  }
  std::memcpy(bytes_.data() + offset, body.data(), body.size());
  bytes_[offset + 1] = 0;  // end of list
  if (!writable.empty()) set_writable(offset, writable);
  if (last_capability_ == 0) {
    bytes_[kCapabilityPointer] = static_cast<uint8_t>(offset);
  } else {
    bytes_[last_capability_ + 1] = static_cast<uint8_t>(offset);
  }
  set16(kStatus, static_cast<uint16_t>(read16(kStatus) | kStatusCapabilities));
  last_capability_ = offset;
  next_capability_ = offset + body.size();
  return static_cast<uint8_t>(offset);
}

}  // namespace vmkit::pci
