#include "pci/pci_config_io.h"

#include <algorithm>
#include <cstring>

namespace vmkit {
namespace {

constexpr uint32_t kEnable = 1u << 31;
constexpr uint64_t kDataOffset = 4;

struct Target {
  uint8_t bus, slot, function;
  uint16_t reg;
};

Target decode(uint32_t address, uint64_t data_offset) {
  return Target{static_cast<uint8_t>(address >> 16), static_cast<uint8_t>((address >> 11) & 0x1f),
                static_cast<uint8_t>((address >> 8) & 0x7),
                static_cast<uint16_t>((address & 0xfc) + (data_offset - kDataOffset))};
}

}  // namespace

void PciConfigIo::set_reset_handler(std::function<void(uint8_t)> handler) {
  std::lock_guard lock(mu_);
  reset_handler_ = std::move(handler);
}

uint32_t PciConfigIo::address() const {
  std::lock_guard lock(mu_);
  return address_;
}

void PciConfigIo::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  if (offset == 0 && data.size() == 4) {
    std::memcpy(data.data(), &address_, 4);
    return;
  }
  std::fill(data.begin(), data.end(), 0xff);
  if (offset < kDataOffset || offset + data.size() > kSize) return;
  if (!(address_ & kEnable)) return;
  Target t = decode(address_, offset);
  root_.config_read(t.bus, t.slot, t.function, t.reg, data);
}

void PciConfigIo::write(uint64_t offset, std::span<const uint8_t> data) {
  std::function<void(uint8_t)> reset;
  {
    std::lock_guard lock(mu_);
    if (offset == 0 && data.size() == 4) {
      uint32_t value;
      std::memcpy(&value, data.data(), 4);
      address_ = value & ~0x3u;
      return;
    }
    if (offset == 1 && data.size() == 1) {  // 0xCF9
      if (data[0] & 0x4) reset = reset_handler_;
    } else if (offset >= kDataOffset && offset + data.size() <= kSize && (address_ & kEnable)) {
      Target t = decode(address_, offset);
      root_.config_write(t.bus, t.slot, t.function, t.reg, data);
    }
  }
  if (reset) reset(data[0]);
}

}  // namespace vmkit
