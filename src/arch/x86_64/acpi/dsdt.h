// The DSDT: the AML namespace of vmkit's machine.
//
//   \_S5            Package { kAcpiS5SleepType, kAcpiS5SleepType, 0, 0 }: SLP_TYP for poweroff
//   \_SB.PCI0       PCI root bridge (PNP0A03; PNP0A08 + _CID PNP0A03 with ECAM), _SEG/_BBN/_UID 0,
//                   _CRS: buses 0-255, ports 0xCF8-0xCFF consumed, I/O windows 0-0xCF7 and
//                   0xD00-0xFFFF, the 32-bit and (optional) 64-bit MMIO windows;
//                   _PRT when legacy INTx routing is configured
//   \_SB.COM1       PNP0501 at kCom1Port (8 ports), IRQ kCom1Irq
//   \_SB.RTC_       PNP0B00 at kRtcPort (2 ports), IRQ kRtcIrq
//   \_SB.Cnnn       ACPI0007 processor devices, _UID = the MADT processor UID (nnn in hex)
//   \_SB.MRES       PNP0C02 reserving the ECAM window (only with ECAM)
// The power button is the FADT fixed feature, so it needs no device here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arch/x86_64/acpi/aml.h"
#include "arch/x86_64/acpi/config.h"

namespace vmkit::x86::acpi {

inline constexpr uint8_t kDsdtRevision = 2;  // 64-bit integers

// The pieces, for tests and reuse.
aml::AmlBytes dsdt_sleep_states();
aml::AmlBytes dsdt_pci_root(const AcpiConfig& config);
aml::AmlBytes dsdt_pci_routing(const PciIntxRouting& routing);  // Name (_PRT, Package { ... })
aml::AmlBytes dsdt_legacy_devices();
aml::AmlBytes dsdt_processors(const AcpiConfig& config);
// The processor device name of CPU `index`: "C" and three hex digits.
std::string processor_device_name(uint32_t index);

// The whole table (header included).
std::vector<uint8_t> build_dsdt(const AcpiConfig& config);

}  // namespace vmkit::x86::acpi
