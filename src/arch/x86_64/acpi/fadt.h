// The FADT ("FACP", Fixed ACPI Description Table, revision 6) and the FACS it points to.
//
// vmkit's machine is a full (not hardware-reduced) ACPI platform with the least fixed hardware
// Linux needs: a PM1a event block (status, enable) and PM1a control block at the ports in
// layout.h, the SCI on IRQ 9, ACPI always enabled (SMI_CMD = 0), the power button as a fixed
// feature, no sleep button, no PM timer, no GPE blocks, no reset register (reset goes through
// the i8042), no VGA.
#pragma once

#include <cstdint>
#include <vector>

#include "arch/x86_64/acpi/config.h"
#include "arch/x86_64/acpi/sdt.h"

namespace vmkit::x86::acpi {

struct [[gnu::packed]] Fadt {
  SdtHeader header;
  uint32_t firmware_ctrl;
  uint32_t dsdt;
  uint8_t reserved0;
  uint8_t preferred_pm_profile;
  uint16_t sci_int;
  uint32_t smi_cmd;
  uint8_t acpi_enable;
  uint8_t acpi_disable;
  uint8_t s4bios_req;
  uint8_t pstate_cnt;
  uint32_t pm1a_evt_blk;
  uint32_t pm1b_evt_blk;
  uint32_t pm1a_cnt_blk;
  uint32_t pm1b_cnt_blk;
  uint32_t pm2_cnt_blk;
  uint32_t pm_tmr_blk;
  uint32_t gpe0_blk;
  uint32_t gpe1_blk;
  uint8_t pm1_evt_len;
  uint8_t pm1_cnt_len;
  uint8_t pm2_cnt_len;
  uint8_t pm_tmr_len;
  uint8_t gpe0_blk_len;
  uint8_t gpe1_blk_len;
  uint8_t gpe1_base;
  uint8_t cst_cnt;
  uint16_t p_lvl2_lat;
  uint16_t p_lvl3_lat;
  uint16_t flush_size;
  uint16_t flush_stride;
  uint8_t duty_offset;
  uint8_t duty_width;
  uint8_t day_alrm;
  uint8_t mon_alrm;
  uint8_t century;
  uint16_t iapc_boot_arch;
  uint8_t reserved1;
  uint32_t flags;
  GenericAddress reset_reg;
  uint8_t reset_value;
  uint16_t arm_boot_arch;
  uint8_t minor_version;
  uint64_t x_firmware_ctrl;
  uint64_t x_dsdt;
  GenericAddress x_pm1a_evt_blk;
  GenericAddress x_pm1b_evt_blk;
  GenericAddress x_pm1a_cnt_blk;
  GenericAddress x_pm1b_cnt_blk;
  GenericAddress x_pm2_cnt_blk;
  GenericAddress x_pm_tmr_blk;
  GenericAddress x_gpe0_blk;
  GenericAddress x_gpe1_blk;
  GenericAddress sleep_control_reg;
  GenericAddress sleep_status_reg;
  uint64_t hypervisor_vendor_id;
};
static_assert(sizeof(Fadt) == 276);

inline constexpr uint8_t kFadtRevision = 6;
inline constexpr uint8_t kFadtMinorVersion = 0;  // ACPI 6.0
inline constexpr uint8_t kPmProfileUnspecified = 0;

// FADT flags (ACPI 6.5 table 5.10).
inline constexpr uint32_t kFadtWbinvd = 1u << 0;
inline constexpr uint32_t kFadtProcC1 = 1u << 2;
inline constexpr uint32_t kFadtPwrButton = 1u << 4;  // set: no fixed-feature power button
inline constexpr uint32_t kFadtSlpButton = 1u << 5;  // set: no fixed-feature sleep button
inline constexpr uint32_t kFadtResetRegSup = 1u << 10;
inline constexpr uint32_t kFadtHwReducedAcpi = 1u << 20;

// IAPC_BOOT_ARCH flags (ACPI 6.5 table 5.11).
inline constexpr uint16_t kBootArchLegacyDevices = 1u << 0;
inline constexpr uint16_t kBootArch8042 = 1u << 1;
inline constexpr uint16_t kBootArchVgaNotPresent = 1u << 2;
inline constexpr uint16_t kBootArchMsiNotSupported = 1u << 3;
inline constexpr uint16_t kBootArchPcieAspmControls = 1u << 4;
inline constexpr uint16_t kBootArchCmosRtcNotPresent = 1u << 5;

struct [[gnu::packed]] Facs {
  char signature[4];
  uint32_t length;
  uint32_t hardware_signature;
  uint32_t firmware_waking_vector;
  uint32_t global_lock;
  uint32_t flags;
  uint64_t x_firmware_waking_vector;
  uint8_t version;
  uint8_t reserved0[3];
  uint32_t ospm_flags;
  uint8_t reserved1[24];
};
static_assert(sizeof(Facs) == 64);

inline constexpr uint64_t kFacsAlignment = 64;

// The FACS (no wake support, no 64-bit wake; hardware signature 0).
std::vector<uint8_t> build_facs();

// The FADT pointing at the FACS and DSDT at the given guest-physical addresses (both below 4 GiB,
// so the 32-bit and X_ fields carry the same values).
std::vector<uint8_t> build_fadt(const AcpiConfig& config, uint32_t facs_address,
                                uint32_t dsdt_address);

}  // namespace vmkit::x86::acpi
