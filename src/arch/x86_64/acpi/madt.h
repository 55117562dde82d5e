// The MADT ("APIC", Multiple APIC Description Table): one enabled Processor Local APIC entry per
// vCPU (Local x2APIC for APIC ids >= 255), one IOAPIC at kIoapicAddress with GSI base 0, an
// interrupt source override making the SCI (IRQ 9) level-triggered active-high, and the local
// APIC NMI on LINT1. There is no override for IRQ 0: KVM routes GSI 0 to IOAPIC pin 0, so the PIT
// reaches pin 0 identity-mapped, and the ISA IRQs 1-15 stay identity-mapped edge/active-high.
#pragma once

#include <cstdint>
#include <vector>

#include "arch/x86_64/acpi/config.h"

namespace vmkit::x86::acpi {

struct [[gnu::packed]] MadtLocalApic {
  uint8_t type;    // 0
  uint8_t length;  // 8
  uint8_t processor_uid;
  uint8_t apic_id;
  uint32_t flags;
};
static_assert(sizeof(MadtLocalApic) == 8);

struct [[gnu::packed]] MadtIoApic {
  uint8_t type;    // 1
  uint8_t length;  // 12
  uint8_t ioapic_id;
  uint8_t reserved;
  uint32_t address;
  uint32_t gsi_base;
};
static_assert(sizeof(MadtIoApic) == 12);

struct [[gnu::packed]] MadtInterruptOverride {
  uint8_t type;    // 2
  uint8_t length;  // 10
  uint8_t bus;     // 0: ISA
  uint8_t source;  // ISA IRQ
  uint32_t gsi;
  uint16_t flags;  // MPS INTI flags
};
static_assert(sizeof(MadtInterruptOverride) == 10);

struct [[gnu::packed]] MadtLocalApicNmi {
  uint8_t type;           // 4
  uint8_t length;         // 6
  uint8_t processor_uid;  // 0xff: all processors
  uint16_t flags;
  uint8_t lint;
};
static_assert(sizeof(MadtLocalApicNmi) == 6);

struct [[gnu::packed]] MadtLocalX2Apic {
  uint8_t type;    // 9
  uint8_t length;  // 16
  uint16_t reserved;
  uint32_t x2apic_id;
  uint32_t flags;
  uint32_t processor_uid;
};
static_assert(sizeof(MadtLocalX2Apic) == 16);

struct [[gnu::packed]] MadtLocalX2ApicNmi {
  uint8_t type;    // 0x0a
  uint8_t length;  // 12
  uint16_t flags;
  uint32_t processor_uid;  // 0xffffffff: all processors
  uint8_t lint;
  uint8_t reserved[3];
};
static_assert(sizeof(MadtLocalX2ApicNmi) == 12);

inline constexpr uint8_t kMadtRevision = 4;     // ACPI 6.0
inline constexpr uint32_t kMadtPcatCompat = 1;  // dual 8259s present (KVM's in-kernel PIC)

inline constexpr uint8_t kMadtTypeLocalApic = 0;
inline constexpr uint8_t kMadtTypeIoApic = 1;
inline constexpr uint8_t kMadtTypeInterruptOverride = 2;
inline constexpr uint8_t kMadtTypeLocalApicNmi = 4;
inline constexpr uint8_t kMadtTypeLocalX2Apic = 9;
inline constexpr uint8_t kMadtTypeLocalX2ApicNmi = 10;

inline constexpr uint32_t kMadtProcessorEnabled = 1;
// MPS INTI flags: polarity bits 1:0 (1 active high, 3 active low), trigger bits 3:2 (1 edge,
// 3 level).
inline constexpr uint16_t kMpsActiveHigh = 0x1;
inline constexpr uint16_t kMpsLevel = 0xc;

// The ACPI processor UID of CPU `index` (the same _UID its processor device in the DSDT has).
inline constexpr uint32_t processor_uid(uint32_t index) {
  return index;
}

// True when CPU `index` is described by a Local x2APIC entry instead of a Local APIC entry.
bool uses_x2apic_entry(const AcpiConfig& config, uint32_t index);

std::vector<uint8_t> build_madt(const AcpiConfig& config);

}  // namespace vmkit::x86::acpi
