// The MC146818 CMOS RTC at ports 0x70/0x71: the host's wall-clock time (UTC), in BCD or binary
// and 12/24-hour form as register B asks, plus the 128-byte CMOS memory. A guest that sets the
// clock keeps an offset from the host's time.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <functional>
#include <mutex>

#include "bus/bus.h"

namespace vmkit {

class Rtc : public BusDevice {
 public:
  using Clock = std::function<time_t()>;
  explicit Rtc(Clock clock = [] { return ::time(nullptr); });

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  uint8_t read_time_register(uint8_t index, const struct tm& t) const;
  uint8_t encode(int value) const;
  int decode(uint8_t value) const;
  void set_time_register(uint8_t index, uint8_t value);

  Clock clock_;
  std::mutex mutex_;  // guards the state below
  uint8_t index_ = 0;
  std::array<uint8_t, 128> cmos_{};
  int64_t offset_seconds_ = 0;  // guest time - host time
};

}  // namespace vmkit
