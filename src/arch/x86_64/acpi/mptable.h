// The Intel MultiProcessor Specification 1.4 table: the fallback CPU and interrupt description
// Linux uses when ACPI is off (acpi=off) or absent. Built from the same AcpiConfig as the ACPI
// tables: one processor entry per vCPU (CPU 0 the bootstrap processor), PCI bus 0 and an ISA
// bus, the IOAPIC, ISA IRQs 0-15 identity-mapped to IOAPIC pins 0-15 (IRQ 9, the SCI, level
// active-high as in the MADT), PCI INTx routing when configured, ExtINT on LINT0 and NMI on LINT1.
//
// The floating pointer ("_MP_") and the configuration table ("PCMP") go at kMpTableStart, inside
// the 0xF0000-0xFFFFF range Linux scans, after the SMBIOS area.
#pragma once

#include <cstdint>
#include <vector>

#include "arch/x86_64/acpi/config.h"
#include "arch/x86_64/layout.h"
#include "base/result.h"
#include "memory/guest_address.h"
#include "memory/guest_memory.h"

namespace vmkit::x86::mptable {

// [kSmbiosStart, +32 KiB) is SMBIOS; the MP table takes the upper half of the BIOS area.
inline constexpr uint64_t kMpTableStart = kSmbiosStart + 0x8000;
inline constexpr uint64_t kMpTableMaxSize = kBiosEnd - kMpTableStart;

struct [[gnu::packed]] FloatingPointer {
  char signature[4];  // "_MP_"
  uint32_t config_table;
  uint8_t length;    // in 16-byte units: 1
  uint8_t spec_rev;  // 4: MP 1.4
  uint8_t checksum;
  uint8_t feature1;  // 0: a configuration table is present
  uint8_t feature2;  // bit 7 IMCRP clear: virtual wire mode
  uint8_t feature3[3];
};
static_assert(sizeof(FloatingPointer) == 16);

struct [[gnu::packed]] ConfigHeader {
  char signature[4];  // "PCMP"
  uint16_t base_table_length;
  uint8_t spec_rev;
  uint8_t checksum;
  char oem_id[8];
  char product_id[12];
  uint32_t oem_table_pointer;
  uint16_t oem_table_size;
  uint16_t entry_count;
  uint32_t lapic_address;
  uint16_t extended_table_length;
  uint8_t extended_table_checksum;
  uint8_t reserved;
};
static_assert(sizeof(ConfigHeader) == 44);

struct [[gnu::packed]] ProcessorEntry {
  uint8_t type;  // 0
  uint8_t lapic_id;
  uint8_t lapic_version;
  uint8_t cpu_flags;  // bit 0 enabled, bit 1 bootstrap processor
  uint32_t cpu_signature;
  uint32_t feature_flags;
  uint32_t reserved[2];
};
static_assert(sizeof(ProcessorEntry) == 20);

struct [[gnu::packed]] BusEntry {
  uint8_t type;  // 1
  uint8_t bus_id;
  char bus_type[6];  // "ISA   ", "PCI   "
};
static_assert(sizeof(BusEntry) == 8);

struct [[gnu::packed]] IoApicEntry {
  uint8_t type;  // 2
  uint8_t ioapic_id;
  uint8_t ioapic_version;
  uint8_t flags;  // bit 0 enabled
  uint32_t address;
};
static_assert(sizeof(IoApicEntry) == 8);

// I/O (type 3) and local (type 4) interrupt assignment entries share a layout.
struct [[gnu::packed]] InterruptEntry {
  uint8_t type;
  uint8_t interrupt_type;  // 0 INT, 1 NMI, 2 SMI, 3 ExtINT
  uint16_t flags;          // polarity bits 1:0, trigger bits 3:2 (as MADT MPS INTI flags)
  uint8_t source_bus_id;
  uint8_t source_bus_irq;  // ISA: the IRQ; PCI: slot << 2 | pin
  uint8_t dest_id;         // IOAPIC id, or local APIC id (0xff: all)
  uint8_t dest_pin;        // IOAPIC INTIN or LINTIN
};
static_assert(sizeof(InterruptEntry) == 8);

inline constexpr uint8_t kEntryProcessor = 0;
inline constexpr uint8_t kEntryBus = 1;
inline constexpr uint8_t kEntryIoApic = 2;
inline constexpr uint8_t kEntryIoInterrupt = 3;
inline constexpr uint8_t kEntryLocalInterrupt = 4;
// Linux matches a PCI interrupt entry's bus id against the PCI bus number, so PCI bus 0 is MP
// bus 0 and the ISA bus comes after it (as SeaBIOS lays it out).
inline constexpr uint8_t kPciBusId = 0;
inline constexpr uint8_t kIsaBusId = 1;

struct MpTable {
  GuestAddress base;  // kMpTableStart: the floating pointer
  std::vector<uint8_t> bytes;
};

// Errors: an invalid config, or an APIC id above 254 (the MP table has 8-bit ids; such machines
// need ACPI, so the caller may skip the MP table).
Result<MpTable> build_mp_table(const acpi::AcpiConfig& config);

// Builds the table and writes it at kMpTableStart (the rest of its area zeroed). Returns the
// floating pointer's address.
Result<GuestAddress> write_mp_table(const GuestMemory& memory, const acpi::AcpiConfig& config);

}  // namespace vmkit::x86::mptable
