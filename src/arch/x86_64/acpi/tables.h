// vmkit's ACPI tables as a whole: the RSDP (v2) and XSDT that lead the guest to the FADT (with
// FACS and DSDT), MADT and, with ECAM, MCFG; all laid out in [kAcpiStart, kAcpiStart +
// kAcpiMaxSize), the RSDP first at kAcpiStart (16-byte aligned inside 0xE0000-0xFFFFF, where
// Linux's legacy RSDP scan finds it when the boot protocol does not pass its address).
//
// The vmm calls write_acpi_tables() once per boot (and again on reset) and passes the returned
// RSDP address to the kernel (boot_params.acpi_rsdp_addr, or hvm_start_info.rsdp_paddr for PVH).
// The e820 map must mark [kAcpiStart, kAcpiStart + kAcpiMaxSize) reserved (or ACPI data).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arch/x86_64/acpi/config.h"
#include "base/result.h"
#include "memory/guest_address.h"
#include "memory/guest_memory.h"

namespace vmkit::x86::acpi {

// RSDP revision 2 (ACPI 2.0+): the first 20 bytes are the ACPI 1.0 structure.
struct [[gnu::packed]] Rsdp {
  char signature[8];  // "RSD PTR "
  uint8_t checksum;   // over the first 20 bytes
  char oem_id[6];
  uint8_t revision;       // 2
  uint32_t rsdt_address;  // 0: vmkit provides only the XSDT
  uint32_t length;        // 36
  uint64_t xsdt_address;
  uint8_t extended_checksum;  // over all 36 bytes
  uint8_t reserved[3];
};
static_assert(sizeof(Rsdp) == 36);

inline constexpr size_t kRsdpV1Length = 20;

// MCFG allocation entry (PCI Firmware Specification 3.2, table 4-3).
struct [[gnu::packed]] McfgAllocation {
  uint64_t base_address;
  uint16_t segment;
  uint8_t start_bus;
  uint8_t end_bus;
  uint32_t reserved;
};
static_assert(sizeof(McfgAllocation) == 16);

// Where one table landed, for tests and logs.
struct PlacedTable {
  std::string signature;
  GuestAddress address;
  uint32_t length;
};

// The finished table area: `bytes` go at `base` (= kAcpiStart).
struct AcpiTables {
  GuestAddress base;
  std::vector<uint8_t> bytes;
  GuestAddress rsdp;
  std::vector<PlacedTable> tables;  // RSDP, FACS, DSDT, FACP, APIC, [MCFG], XSDT
};

// Builds every table for `config`. Errors: an invalid config (see validate()) or tables that do
// not fit in kAcpiMaxSize bytes.
Result<AcpiTables> build_acpi_tables(const AcpiConfig& config);

// Builds the tables and writes them into guest memory at kAcpiStart (the area must be guest RAM;
// the rest of the area is zeroed). Returns the RSDP's guest-physical address.
Result<GuestAddress> write_acpi_tables(const GuestMemory& memory, const AcpiConfig& config);

}  // namespace vmkit::x86::acpi
