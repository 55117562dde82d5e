#include "arch/x86_64/acpi/fadt.h"

#include <cstddef>
#include <span>

#include "arch/x86_64/layout.h"

namespace vmkit::x86::acpi {
namespace {

constexpr uint8_t kPm1EventBlockLength = 4;    // PM1_STS (2 bytes) then PM1_EN (2 bytes)
constexpr uint8_t kPm1ControlBlockLength = 2;  // PM1_CNT
constexpr uint8_t kAccessWord = 2;
// Worst-case C2/C3 latencies above these limits mean "not supported" (only C1, HLT, is).
constexpr uint16_t kC2Unsupported = 101;
constexpr uint16_t kC3Unsupported = 1001;

}  // namespace

std::vector<uint8_t> build_facs() {
  Facs facs{};
  copy_id(facs.signature, sizeof(facs.signature), "FACS", ' ');
  facs.length = sizeof(Facs);
  facs.version = 2;
  std::vector<uint8_t> out;
  append_obj(out, facs);
  return out;
}

std::vector<uint8_t> build_fadt(const AcpiConfig& config, uint32_t facs_address,
                                uint32_t dsdt_address) {
  Fadt f{};
  f.firmware_ctrl = facs_address;
  f.dsdt = dsdt_address;
  f.preferred_pm_profile = kPmProfileUnspecified;
  f.sci_int = static_cast<uint16_t>(kAcpiSciIrq);
  // SMI_CMD, ACPI_ENABLE and ACPI_DISABLE zero: the platform is always in ACPI mode
  // (SCI_EN reads as set in PM1_CNT).
  f.smi_cmd = 0;
  f.pm1a_evt_blk = kAcpiPm1aEventPort;
  f.pm1a_cnt_blk = kAcpiPm1aControlPort;
  f.pm1_evt_len = kPm1EventBlockLength;
  f.pm1_cnt_len = kPm1ControlBlockLength;
  // No PM2, PM timer or GPE blocks: their addresses and lengths stay 0.
  f.p_lvl2_lat = kC2Unsupported;
  f.p_lvl3_lat = kC3Unsupported;
  f.century = config.rtc_century_index;
  f.iapc_boot_arch = kBootArchVgaNotPresent | kBootArchPcieAspmControls;
  if (config.i8042_present) f.iapc_boot_arch |= kBootArch8042;
  // Power button as a fixed feature (PWR_BUTTON clear), no sleep button, no reset register,
  // not hardware-reduced.
  f.flags = kFadtWbinvd | kFadtProcC1 | kFadtSlpButton;
  f.minor_version = kFadtMinorVersion;
  f.x_firmware_ctrl = facs_address;
  f.x_dsdt = dsdt_address;
  f.x_pm1a_evt_blk = io_address(kAcpiPm1aEventPort, kPm1EventBlockLength, kAccessWord);
  f.x_pm1a_cnt_blk = io_address(kAcpiPm1aControlPort, kPm1ControlBlockLength, kAccessWord);

  std::vector<uint8_t> body;
  append_obj(body, f);
  return make_table("FACP", kFadtRevision,
                    std::span<const uint8_t>(body).subspan(sizeof(SdtHeader)));
}

}  // namespace vmkit::x86::acpi
