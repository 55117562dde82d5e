// The i8042 keyboard controller, only as far as Linux uses it to reset the machine: command
// 0xFE (pulse reset) on port 0x64, or the output-port write (0xD1) with the reset bit low.
#pragma once

#include <functional>
#include <mutex>

#include "bus/bus.h"

namespace vmkit {

class I8042 : public BusDevice {
 public:
  explicit I8042(std::function<void()> on_reset) : on_reset_(std::move(on_reset)) {}

  // Offsets: 0 = data port (0x60), 4 = command/status port (0x64).
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  std::function<void()> on_reset_;
  std::mutex mutex_;
  uint8_t pending_command_ = 0;
};

}  // namespace vmkit
