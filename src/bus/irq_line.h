// An interrupt line a device drives: high while the device has an interrupt pending. The
// platform maps it to a GSI of the in-kernel IOAPIC/PIC (edge pins see the rising edges).
#pragma once

namespace vmkit {

class IrqLine {
 public:
  virtual ~IrqLine() = default;
  virtual void set_level(bool high) = 0;
};

}  // namespace vmkit
