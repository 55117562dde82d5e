#include "arch/x86_64/acpi/config.h"

#include <fmt/format.h>

#include <unordered_set>

#include "base/checked.h"

namespace vmkit::x86::acpi {
namespace {

Status validate_window(const char* what, uint64_t start, uint64_t size, uint64_t limit) {
  auto end = checked_add<uint64_t>(start, size);
  if (!end || *end > limit) {
    return Error(fmt::format("ACPI: PCI {} window 0x{:x}+0x{:x} ends beyond 0x{:x}", what, start,
                             size, limit));
  }
  return {};
}

}  // namespace

uint32_t apic_id_of(const AcpiConfig& config, uint32_t index) {
  return config.apic_ids.empty() ? index : config.apic_ids[index];
}

uint8_t ioapic_id_of(const AcpiConfig& config) {
  return config.num_cpus < 255 ? static_cast<uint8_t>(config.num_cpus) : 0;
}

Status validate(const AcpiConfig& config) {
  if (config.num_cpus == 0 || config.num_cpus > kMaxAcpiCpus) {
    return Error(fmt::format("ACPI: {} vCPUs (must be 1-{})", config.num_cpus, kMaxAcpiCpus));
  }
  if (!config.apic_ids.empty()) {
    if (config.apic_ids.size() != config.num_cpus) {
      return Error(
          fmt::format("ACPI: {} APIC ids for {} vCPUs", config.apic_ids.size(), config.num_cpus));
    }
    std::unordered_set<uint32_t> seen;
    for (uint32_t id : config.apic_ids) {
      if (id == 0xffffffff) return Error("ACPI: APIC id 0xffffffff is reserved");
      if (!seen.insert(id).second) return Error(fmt::format("ACPI: duplicate APIC id {}", id));
    }
  }
  if (config.pci_mmio32_size == 0) return Error("ACPI: empty 32-bit PCI window");
  TRY(validate_window("32-bit", config.pci_mmio32_start, config.pci_mmio32_size, kFourGiB));
  if (config.pci_mmio64_size != 0) {
    TRY(validate_window("64-bit", config.pci_mmio64_start, config.pci_mmio64_size, ~uint64_t{0}));
  }
  if (config.pci_intx) {
    const PciIntxRouting& r = *config.pci_intx;
    if (r.num_slots == 0 || r.num_slots > 32) {
      return Error(fmt::format("ACPI: PCI INTx routing for {} slots (must be 1-32)", r.num_slots));
    }
    if (r.num_gsis == 0 || r.first_gsi < 16 || r.first_gsi >= kIoapicPins ||
        r.num_gsis > kIoapicPins - r.first_gsi) {
      return Error(fmt::format("ACPI: PCI INTx GSIs {}+{} are not within IOAPIC pins 16-{}",
                               r.first_gsi, r.num_gsis, kIoapicPins - 1));
    }
  }
  return {};
}

}  // namespace vmkit::x86::acpi
