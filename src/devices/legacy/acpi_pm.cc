#include "devices/legacy/acpi_pm.h"

namespace vmkit {
namespace {
constexpr uint16_t kSciEnable = 0x0001;
constexpr uint16_t kSleepEnable = 1u << 13;
constexpr uint16_t kStatusBits = 0x8f31;  // the PM1 status bits defined by ACPI
}  // namespace

void AcpiPm::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  uint8_t regs[kSize] = {
      static_cast<uint8_t>(status_),  static_cast<uint8_t>(status_ >> 8),
      static_cast<uint8_t>(enable_),  static_cast<uint8_t>(enable_ >> 8),
      static_cast<uint8_t>(control_), static_cast<uint8_t>(control_ >> 8),
  };
  for (size_t i = 0; i < data.size(); ++i) data[i] = offset + i < kSize ? regs[offset + i] : 0;
}

void AcpiPm::write(uint64_t offset, std::span<const uint8_t> data) {
  bool poweroff = false;
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < data.size() && offset + i < kSize; ++i) {
      uint64_t reg = offset + i;
      auto shift = static_cast<unsigned>((reg % 2) * 8);
      auto bits = static_cast<uint16_t>(data[i] << shift);
      auto mask = static_cast<uint16_t>(0xff << shift);
      if (reg < 2) {
        status_ = static_cast<uint16_t>(status_ & ~(bits & kStatusBits));  // write 1 to clear
      } else if (reg < 4) {
        enable_ = static_cast<uint16_t>((enable_ & ~mask) | bits);
      } else {
        control_ = static_cast<uint16_t>((control_ & ~mask) | bits);
      }
    }
    if (control_ & kSleepEnable) {
      auto type = static_cast<uint8_t>((control_ >> 10) & 0x7);
      control_ = static_cast<uint16_t>(control_ & ~kSleepEnable);
      poweroff = type == s5_type_;
    }
    control_ |= kSciEnable;
    update_sci();
  }
  if (poweroff && on_poweroff_) on_poweroff_();
}

void AcpiPm::press_power_button() {
  std::lock_guard lock(mutex_);
  status_ |= kPowerButtonStatus;
  update_sci();
}

void AcpiPm::update_sci() {
  bool level = (status_ & enable_) != 0;
  if (level != sci_level_) {
    sci_level_ = level;
    if (sci_) sci_->set_level(level);
  }
}

}  // namespace vmkit
