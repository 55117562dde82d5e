// What the ACPI tables describe: the machine's CPUs, its PCI windows and legacy-interrupt routing,
// and a few platform choices. Fixed addresses and ports come from arch/x86_64/layout.h.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "arch/x86_64/layout.h"
#include "base/result.h"

namespace vmkit::x86::acpi {

// Legacy PCI interrupt (INTx) routing of bus 0, described by \_SB.PCI0._PRT. Pin `pin`
// (0 = INTA .. 3 = INTD) of device `slot` goes to IOAPIC GSI
//   first_gsi + (slot + pin) % num_gsis
// (the usual swizzle, so the four pins of one slot land on different GSIs). These GSIs are
// level-triggered, active-low (ACPI's default for PCI interrupts): the PCI model must raise them
// as level interrupts (KVM irqfd with a resample fd).
struct PciIntxRouting {
  uint32_t num_slots = 32;  // slots 0..num_slots-1 get entries (at most 32)
  uint32_t first_gsi = 16;  // the IOAPIC pins above the ISA range
  uint32_t num_gsis = 8;    // GSIs first_gsi .. first_gsi+num_gsis-1 (must stay below 24)
};

// The GSI that pin `pin` of device `slot` is routed to (see PciIntxRouting).
constexpr uint32_t pci_intx_gsi(const PciIntxRouting& routing, uint32_t slot, uint32_t pin) {
  return routing.first_gsi + (slot + pin) % routing.num_gsis;
}

// KVM's in-kernel IOAPIC has 24 pins: GSIs 0-23.
inline constexpr uint32_t kIoapicPins = 24;
// The most vCPUs the tables describe (processor device names are C000-CFFF).
inline constexpr uint32_t kMaxAcpiCpus = 4096;

struct AcpiConfig {
  uint32_t num_cpus = 1;
  // The local APIC id of each vCPU, in CPU order (the same ids CPUID reports); empty means
  // CPU i has APIC id i. Ids below 255 get a Processor Local APIC entry, the others a Local
  // x2APIC entry (which Linux uses only in x2APIC mode).
  std::vector<uint32_t> apic_ids;

  // PCI host bridge windows (PCI0._CRS). The 32-bit window must end at or below 4 GiB; a
  // 64-bit window of size 0 is left out.
  uint64_t pci_mmio32_start = kPciMmio32Start;
  uint64_t pci_mmio32_size = kPciMmio32Size;
  uint64_t pci_mmio64_start = 0;
  uint64_t pci_mmio64_size = 0;
  // Legacy INTx routing; without it PCI0 has no _PRT (devices must use MSI/MSI-X).
  std::optional<PciIntxRouting> pci_intx;
  // Describe PCIe ECAM at kPciEcamStart (buses 0-255) with an MCFG table, reserve it with a
  // PNP0C02 device and make PCI0 a PCI Express root (PNP0A08). Off: a conventional PCI root
  // (PNP0A03) reached through config mechanism #1 at ports 0xCF8-0xCFF only.
  bool pci_ecam = false;

  // FADT IAPC_BOOT_ARCH "8042" flag: tells Linux a PS/2 controller exists (it then probes the
  // keyboard and mouse). vmkit's i8042 only handles reset, which works without this flag.
  bool i8042_present = false;
  // FADT CENTURY: the CMOS RAM index of the century byte, or 0 if the RTC has none.
  uint8_t rtc_century_index = 0;
};

// The APIC id of CPU `index` under `config` (explicit or identity).
uint32_t apic_id_of(const AcpiConfig& config, uint32_t index);
// The IOAPIC id written to the MADT: the number of vCPUs (the MP-spec convention, one above
// the CPUs' ids) while that fits in 8 bits below 255, else 0 (64-bit Linux only needs it unique
// among IOAPICs).
uint8_t ioapic_id_of(const AcpiConfig& config);

// Checks counts, id uniqueness and window bounds; the message names the offending value.
Status validate(const AcpiConfig& config);

}  // namespace vmkit::x86::acpi
