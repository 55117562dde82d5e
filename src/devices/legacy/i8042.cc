#include "devices/legacy/i8042.h"

namespace vmkit {
namespace {
constexpr uint8_t kCmdWriteOutputPort = 0xd1;
constexpr uint8_t kCmdPulseReset = 0xfe;
}  // namespace

void I8042::read(uint64_t, std::span<uint8_t> data) {
  // Status 0: output buffer empty, input buffer empty (ready for commands); data reads 0.
  for (auto& b : data) b = 0;
}

void I8042::write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  bool reset = false;
  {
    std::lock_guard lock(mutex_);
    if (offset == 4) {
      pending_command_ = data[0];
      reset = data[0] == kCmdPulseReset;
    } else if (offset == 0 && pending_command_ == kCmdWriteOutputPort) {
      reset = (data[0] & 0x01) == 0;  // bit 0 low: system reset
      pending_command_ = 0;
    }
  }
  if (reset && on_reset_) on_reset_();
}

}  // namespace vmkit
