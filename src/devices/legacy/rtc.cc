#include "devices/legacy/rtc.h"

namespace vmkit {
namespace {

constexpr uint8_t kSeconds = 0x00, kMinutes = 0x02, kHours = 0x04, kWeekday = 0x06, kDay = 0x07,
                  kMonth = 0x08, kYear = 0x09, kRegA = 0x0a, kRegB = 0x0b, kRegC = 0x0c,
                  kRegD = 0x0d, kCentury = 0x32;
constexpr uint8_t kRegB24Hour = 0x02;
constexpr uint8_t kRegBBinary = 0x04;
constexpr uint8_t kRegDValidRam = 0x80;

}  // namespace

Rtc::Rtc(Clock clock) : clock_(std::move(clock)) {
  cmos_[kRegA] = 0x26;  // 32.768 kHz time base, 1024 Hz rate; UIP clear
  cmos_[kRegB] = kRegB24Hour;
  cmos_[kRegD] = kRegDValidRam;
}

uint8_t Rtc::encode(int value) const {
  if (cmos_[kRegB] & kRegBBinary) return static_cast<uint8_t>(value);
  return static_cast<uint8_t>(((value / 10) << 4) | (value % 10));
}

int Rtc::decode(uint8_t value) const {
  if (cmos_[kRegB] & kRegBBinary) return value;
  return (value >> 4) * 10 + (value & 0x0f);
}

uint8_t Rtc::read_time_register(uint8_t index, const struct tm& t) const {
  switch (index) {
    case kSeconds:
      return encode(t.tm_sec);
    case kMinutes:
      return encode(t.tm_min);
    case kHours:
      if (cmos_[kRegB] & kRegB24Hour) return encode(t.tm_hour);
      {
        int h = t.tm_hour % 12 == 0 ? 12 : t.tm_hour % 12;
        return static_cast<uint8_t>(encode(h) | (t.tm_hour >= 12 ? 0x80 : 0));
      }
    case kWeekday:
      return encode(t.tm_wday + 1);
    case kDay:
      return encode(t.tm_mday);
    case kMonth:
      return encode(t.tm_mon + 1);
    case kYear:
      return encode(t.tm_year % 100);
    case kCentury:
      return encode((t.tm_year + 1900) / 100);
    default:
      return cmos_[index];
  }
}

void Rtc::set_time_register(uint8_t index, uint8_t value) {
  time_t now = clock_() + offset_seconds_;
  struct tm t {};
  gmtime_r(&now, &t);
  int v = decode(static_cast<uint8_t>(index == kHours ? value & 0x7f : value));
  switch (index) {
    case kSeconds:
      t.tm_sec = v;
      break;
    case kMinutes:
      t.tm_min = v;
      break;
    case kHours:
      if (!(cmos_[kRegB] & kRegB24Hour)) v = (v % 12) + ((value & 0x80) ? 12 : 0);
      t.tm_hour = v;
      break;
    case kDay:
      t.tm_mday = v;
      break;
    case kMonth:
      t.tm_mon = v - 1;
      break;
    case kYear:
      t.tm_year = (t.tm_year / 100) * 100 + v;
      break;
    case kCentury:
      t.tm_year = v * 100 + (t.tm_year % 100) - 1900;
      break;
    default:
      return;
  }
  time_t guest = timegm(&t);
  if (guest != static_cast<time_t>(-1)) offset_seconds_ = guest - clock_();
}

void Rtc::read(uint64_t offset, std::span<uint8_t> data) {
  if (data.empty()) return;
  std::lock_guard lock(mutex_);
  if (offset == 0) {
    data[0] = 0xff;  // the index port is write-only
    return;
  }
  time_t now = clock_() + offset_seconds_;
  struct tm t {};
  gmtime_r(&now, &t);
  if (index_ == kRegC) {
    data[0] = cmos_[kRegC];
    cmos_[kRegC] = 0;  // reading C acknowledges interrupt flags
    return;
  }
  data[0] = read_time_register(index_, t);
}

void Rtc::write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  std::lock_guard lock(mutex_);
  if (offset == 0) {
    index_ = data[0] & 0x7f;  // bit 7 masks NMIs
    return;
  }
  uint8_t value = data[0];
  switch (index_) {
    case kSeconds:
    case kMinutes:
    case kHours:
    case kDay:
    case kMonth:
    case kYear:
    case kCentury:
      set_time_register(index_, value);
      break;
    case kRegA:
      cmos_[kRegA] = value & 0x7f;  // UIP is read-only
      break;
    case kRegC:
    case kRegD:
      break;  // read-only
    default:
      cmos_[index_] = value;
  }
}

}  // namespace vmkit
