// The FADT's fields (the contract with vmkit's ACPI PM device) and the FACS.
#include "arch/x86_64/acpi/fadt.h"

#include <gtest/gtest.h>

#include "arch/x86_64/layout.h"
#include "table_util.h"

namespace vmkit::x86::acpi {
namespace {

Fadt parse(const std::vector<uint8_t>& bytes) {
  EXPECT_EQ(bytes.size(), sizeof(Fadt));
  EXPECT_TRUE(checksum_ok(bytes));
  return read_obj<Fadt>(bytes);
}

TEST(Fadt, HeaderAndPointers) {
  Fadt f = parse(build_fadt(AcpiConfig{}, 0xe0040, 0xe0080));
  EXPECT_EQ(std::string_view(f.header.signature, 4), "FACP");
  EXPECT_EQ(v(f.header.length), 276u);
  EXPECT_EQ(v(f.header.revision), 6);
  EXPECT_EQ(v(f.minor_version), 0);
  EXPECT_EQ(v(f.firmware_ctrl), 0xe0040u);
  EXPECT_EQ(v(f.x_firmware_ctrl), 0xe0040u);
  EXPECT_EQ(v(f.dsdt), 0xe0080u);
  EXPECT_EQ(v(f.x_dsdt), 0xe0080u);
}

TEST(Fadt, FixedHardware) {
  Fadt f = parse(build_fadt(AcpiConfig{}, 0, 0));
  EXPECT_EQ(v(f.sci_int), kAcpiSciIrq);
  EXPECT_EQ(v(f.smi_cmd), 0u);  // ACPI mode always on
  EXPECT_EQ(v(f.acpi_enable), 0);
  EXPECT_EQ(v(f.acpi_disable), 0);

  EXPECT_EQ(v(f.pm1a_evt_blk), kAcpiPm1aEventPort);
  EXPECT_EQ(v(f.pm1_evt_len), 4);
  EXPECT_EQ(v(f.pm1a_cnt_blk), kAcpiPm1aControlPort);
  EXPECT_EQ(v(f.pm1_cnt_len), 2);
  EXPECT_EQ(v(f.x_pm1a_evt_blk.space_id), kAddressSpaceSystemIo);
  EXPECT_EQ(v(f.x_pm1a_evt_blk.bit_width), 32);
  EXPECT_EQ(v(f.x_pm1a_evt_blk.address), kAcpiPm1aEventPort);
  EXPECT_EQ(v(f.x_pm1a_cnt_blk.space_id), kAddressSpaceSystemIo);
  EXPECT_EQ(v(f.x_pm1a_cnt_blk.bit_width), 16);
  EXPECT_EQ(v(f.x_pm1a_cnt_blk.address), kAcpiPm1aControlPort);

  // Absent blocks: PM1b, PM2, PM timer, GPE0/1, in both the 32-bit and the X_ fields.
  EXPECT_EQ(v(f.pm1b_evt_blk), 0u);
  EXPECT_EQ(v(f.pm1b_cnt_blk), 0u);
  EXPECT_EQ(v(f.pm2_cnt_blk), 0u);
  EXPECT_EQ(v(f.pm_tmr_blk), 0u);
  EXPECT_EQ(v(f.pm_tmr_len), 0);
  EXPECT_EQ(v(f.gpe0_blk), 0u);
  EXPECT_EQ(v(f.gpe0_blk_len), 0);
  EXPECT_EQ(v(f.gpe1_blk), 0u);
  EXPECT_EQ(v(f.gpe1_blk_len), 0);
  for (const GenericAddress& g :
       {f.x_pm1b_evt_blk, f.x_pm1b_cnt_blk, f.x_pm2_cnt_blk, f.x_pm_tmr_blk, f.x_gpe0_blk,
        f.x_gpe1_blk, f.reset_reg, f.sleep_control_reg, f.sleep_status_reg}) {
    EXPECT_EQ(v(g.address), 0u);
  }
}

TEST(Fadt, Flags) {
  Fadt f = parse(build_fadt(AcpiConfig{}, 0, 0));
  EXPECT_EQ(f.flags & kFadtPwrButton, 0u) << "power button must be the fixed feature";
  EXPECT_NE(f.flags & kFadtSlpButton, 0u) << "no fixed sleep button";
  EXPECT_EQ(f.flags & kFadtResetRegSup, 0u) << "reset goes through the i8042";
  EXPECT_EQ(f.flags & kFadtHwReducedAcpi, 0u);
  EXPECT_NE(f.flags & kFadtProcC1, 0u);
  EXPECT_GT(v(f.p_lvl2_lat), 100);   // C2 unsupported
  EXPECT_GT(v(f.p_lvl3_lat), 1000);  // C3 unsupported
}

TEST(Fadt, BootArch) {
  Fadt f = parse(build_fadt(AcpiConfig{}, 0, 0));
  EXPECT_NE(f.iapc_boot_arch & kBootArchVgaNotPresent, 0);
  EXPECT_EQ(f.iapc_boot_arch & kBootArch8042, 0);
  EXPECT_EQ(f.iapc_boot_arch & kBootArchMsiNotSupported, 0);
  EXPECT_EQ(f.iapc_boot_arch & kBootArchCmosRtcNotPresent, 0);
  EXPECT_EQ(v(f.century), 0);

  AcpiConfig c;
  c.i8042_present = true;
  c.rtc_century_index = 0x32;
  Fadt g = parse(build_fadt(c, 0, 0));
  EXPECT_NE(g.iapc_boot_arch & kBootArch8042, 0);
  EXPECT_EQ(v(g.century), 0x32);
}

TEST(Facs, SignatureLengthVersion) {
  auto bytes = build_facs();
  ASSERT_EQ(bytes.size(), 64u);
  Facs f = read_obj<Facs>(bytes);
  EXPECT_EQ(std::string_view(f.signature, 4), "FACS");
  EXPECT_EQ(v(f.length), 64u);
  EXPECT_EQ(v(f.version), 2);
  EXPECT_EQ(v(f.global_lock), 0u);
  EXPECT_EQ(v(f.firmware_waking_vector), 0u);
}

}  // namespace
}  // namespace vmkit::x86::acpi
