// ACPI fixed hardware: the PM1a event block (status + enable, the power button) and PM1a
// control block (SCI_EN, sleep requests). The SCI is a level interrupt, high while an enabled
// status bit is set. Writing SLP_TYP=S5 with SLP_EN powers the machine off.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "bus/bus.h"
#include "bus/irq_line.h"

namespace vmkit {

class AcpiPm : public BusDevice {
 public:
  static constexpr uint64_t kSize = 6;  // event block (4) + control block (2), contiguous
  static constexpr uint16_t kPowerButtonStatus = 1u << 8;

  AcpiPm(std::shared_ptr<IrqLine> sci, uint8_t s5_sleep_type, std::function<void()> on_poweroff)
      : sci_(std::move(sci)), s5_type_(s5_sleep_type), on_poweroff_(std::move(on_poweroff)) {}

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Sets PWRBTN_STS; the guest sees an SCI if it enabled the power button event.
  void press_power_button();

 private:
  void update_sci();  // with mutex_ held

  std::shared_ptr<IrqLine> sci_;
  uint8_t s5_type_;
  std::function<void()> on_poweroff_;
  std::mutex mutex_;
  uint16_t status_ = 0;
  uint16_t enable_ = 0;
  uint16_t control_ = 1;  // SCI_EN: ACPI mode is always on (no SMI_CMD)
  bool sci_level_ = false;
};

}  // namespace vmkit
