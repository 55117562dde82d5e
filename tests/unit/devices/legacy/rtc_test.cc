#include "devices/legacy/rtc.h"

#include <gtest/gtest.h>

namespace vmkit {
namespace {

// 2026-11-22 01:02:03 UTC, a Sunday.
constexpr time_t kNow = 1795309323;

uint8_t cmos(Rtc& rtc, uint8_t index) {
  uint8_t i = index, v = 0;
  rtc.write(0, std::span<const uint8_t>(&i, 1));
  rtc.read(1, std::span(&v, 1));
  return v;
}
void set_cmos(Rtc& rtc, uint8_t index, uint8_t value) {
  rtc.write(0, std::span<const uint8_t>(&index, 1));
  rtc.write(1, std::span<const uint8_t>(&value, 1));
}

TEST(Rtc, ReportsHostTimeInBcd) {
  time_t now = kNow;
  Rtc rtc([&] { return now; });
  EXPECT_EQ(cmos(rtc, 0x00), 0x03);
  EXPECT_EQ(cmos(rtc, 0x02), 0x02);
  EXPECT_EQ(cmos(rtc, 0x04), 0x01);
  EXPECT_EQ(cmos(rtc, 0x07), 0x22);
  EXPECT_EQ(cmos(rtc, 0x08), 0x11);
  EXPECT_EQ(cmos(rtc, 0x09), 0x26);
  EXPECT_EQ(cmos(rtc, 0x32), 0x20);
  EXPECT_EQ(cmos(rtc, 0x06), 0x01);         // Sunday = 1
  EXPECT_EQ(cmos(rtc, 0x0d) & 0x80, 0x80);  // valid RAM and time
  EXPECT_EQ(cmos(rtc, 0x0a) & 0x80, 0);     // no update in progress
  now += 10;
  EXPECT_EQ(cmos(rtc, 0x00), 0x13);
}

TEST(Rtc, BinaryAnd12HourModes) {
  Rtc rtc([] { return kNow + 13 * 3600; });  // 14:02:03
  set_cmos(rtc, 0x0b, 0x04);                 // binary, 12-hour
  EXPECT_EQ(cmos(rtc, 0x04), 0x80 | 2);      // 2 PM
  EXPECT_EQ(cmos(rtc, 0x00), 3);
  EXPECT_EQ(cmos(rtc, 0x07), 22);
}

TEST(Rtc, GuestSetsTheClock) {
  time_t now = kNow;
  Rtc rtc([&] { return now; });
  set_cmos(rtc, 0x09, 0x30);  // year 2030
  EXPECT_EQ(cmos(rtc, 0x09), 0x30);
  now += 60;
  EXPECT_EQ(cmos(rtc, 0x09), 0x30);
  EXPECT_EQ(cmos(rtc, 0x02), 0x03);  // time keeps running
}

TEST(Rtc, CmosMemory) {
  Rtc rtc;
  set_cmos(rtc, 0x40, 0xab);
  EXPECT_EQ(cmos(rtc, 0x40), 0xab);
  set_cmos(rtc, 0x80 | 0x41, 0xcd);  // NMI mask bit ignored for the index
  EXPECT_EQ(cmos(rtc, 0x41), 0xcd);
}

}  // namespace
}  // namespace vmkit
