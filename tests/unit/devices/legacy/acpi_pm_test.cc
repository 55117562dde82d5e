#include "devices/legacy/acpi_pm.h"

#include <gtest/gtest.h>

#include "devices/legacy/i8042.h"
#include "fake_irq.h"

namespace vmkit {
namespace {

uint16_t rd16(AcpiPm& pm, uint64_t off) {
  uint8_t b[2] = {};
  pm.read(off, b);
  return static_cast<uint16_t>(b[0] | (b[1] << 8));
}
void wr16(AcpiPm& pm, uint64_t off, uint16_t v) {
  uint8_t b[2] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)};
  pm.write(off, b);
}

TEST(AcpiPm, PowerButtonRaisesSciWhenEnabled) {
  auto sci = std::make_shared<FakeIrqLine>();
  AcpiPm pm(sci, 5, [] {});
  pm.press_power_button();
  EXPECT_FALSE(sci->level);  // not enabled yet
  EXPECT_EQ(rd16(pm, 0), AcpiPm::kPowerButtonStatus);
  wr16(pm, 2, AcpiPm::kPowerButtonStatus);  // enable
  EXPECT_TRUE(sci->level);
  wr16(pm, 0, AcpiPm::kPowerButtonStatus);  // write 1 to clear
  EXPECT_FALSE(sci->level);
  EXPECT_EQ(rd16(pm, 0), 0);
}

TEST(AcpiPm, SleepS5PowersOffOtherStatesDoNot) {
  int poweroffs = 0;
  AcpiPm pm(nullptr, 5, [&] { poweroffs++; });
  EXPECT_EQ(rd16(pm, 4) & 1, 1);       // SCI_EN: ACPI mode
  wr16(pm, 4, (3 << 10) | (1 << 13));  // S3: not supported, ignored
  EXPECT_EQ(poweroffs, 0);
  wr16(pm, 4, (5 << 10));  // SLP_TYP without SLP_EN
  EXPECT_EQ(poweroffs, 0);
  wr16(pm, 4, (5 << 10) | (1 << 13));
  EXPECT_EQ(poweroffs, 1);
  EXPECT_EQ(rd16(pm, 4) & (1 << 13), 0);  // SLP_EN reads as 0
}

TEST(I8042, ResetCommands) {
  int resets = 0;
  I8042 kbd([&] { resets++; });
  uint8_t status = 0xff;
  kbd.read(4, std::span(&status, 1));
  EXPECT_EQ(status, 0);  // ready for commands
  uint8_t cmd = 0xfe;
  kbd.write(4, std::span<const uint8_t>(&cmd, 1));
  EXPECT_EQ(resets, 1);
  uint8_t write_out = 0xd1, value = 0xfe;  // output port with the reset bit low
  kbd.write(4, std::span<const uint8_t>(&write_out, 1));
  kbd.write(0, std::span<const uint8_t>(&value, 1));
  EXPECT_EQ(resets, 2);
  uint8_t harmless = 0xae;
  kbd.write(4, std::span<const uint8_t>(&harmless, 1));
  EXPECT_EQ(resets, 2);
}

}  // namespace
}  // namespace vmkit
