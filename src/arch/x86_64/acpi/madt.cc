#include "arch/x86_64/acpi/madt.h"

#include "arch/x86_64/acpi/sdt.h"
#include "arch/x86_64/layout.h"

namespace vmkit::x86::acpi {
namespace {

constexpr uint8_t kLint1 = 1;

}  // namespace

bool uses_x2apic_entry(const AcpiConfig& config, uint32_t index) {
  // A Local APIC entry holds 8-bit ids and UIDs; 0xff is the broadcast id / "all processors".
  return apic_id_of(config, index) >= 0xff || processor_uid(index) >= 0xff;
}

std::vector<uint8_t> build_madt(const AcpiConfig& config) {
  std::vector<uint8_t> body;
  append_obj(body, static_cast<uint32_t>(kLapicAddress));
  append_obj(body, kMadtPcatCompat);

  bool any_x2apic = false;
  for (uint32_t i = 0; i < config.num_cpus; ++i) {
    if (uses_x2apic_entry(config, i)) {
      any_x2apic = true;
      MadtLocalX2Apic e{};
      e.type = kMadtTypeLocalX2Apic;
      e.length = sizeof(e);
      e.x2apic_id = apic_id_of(config, i);
      e.flags = kMadtProcessorEnabled;
      e.processor_uid = processor_uid(i);
      append_obj(body, e);
    } else {
      MadtLocalApic e{};
      e.type = kMadtTypeLocalApic;
      e.length = sizeof(e);
      e.processor_uid = static_cast<uint8_t>(processor_uid(i));
      e.apic_id = static_cast<uint8_t>(apic_id_of(config, i));
      e.flags = kMadtProcessorEnabled;
      append_obj(body, e);
    }
  }

  MadtIoApic ioapic{};
  ioapic.type = kMadtTypeIoApic;
  ioapic.length = sizeof(ioapic);
  ioapic.ioapic_id = ioapic_id_of(config);
  ioapic.address = static_cast<uint32_t>(kIoapicAddress);
  ioapic.gsi_base = 0;
  append_obj(body, ioapic);

  // The SCI: ISA IRQ 9 on GSI 9, level-triggered, active-high (the PM device drives the line
  // high while an enabled event is pending).
  MadtInterruptOverride sci{};
  sci.type = kMadtTypeInterruptOverride;
  sci.length = sizeof(sci);
  sci.bus = 0;
  sci.source = static_cast<uint8_t>(kAcpiSciIrq);
  sci.gsi = kAcpiSciIrq;
  sci.flags = kMpsActiveHigh | kMpsLevel;
  append_obj(body, sci);

  // NMI on LINT1 of every local APIC (flags 0: conforms to the bus, edge/active-high).
  MadtLocalApicNmi nmi{};
  nmi.type = kMadtTypeLocalApicNmi;
  nmi.length = sizeof(nmi);
  nmi.processor_uid = 0xff;
  nmi.flags = 0;
  nmi.lint = kLint1;
  append_obj(body, nmi);
  if (any_x2apic) {
    MadtLocalX2ApicNmi x2nmi{};
    x2nmi.type = kMadtTypeLocalX2ApicNmi;
    x2nmi.length = sizeof(x2nmi);
    x2nmi.flags = 0;
    x2nmi.processor_uid = 0xffffffff;
    x2nmi.lint = kLint1;
    append_obj(body, x2nmi);
  }
  return make_table("APIC", kMadtRevision, body);
}

}  // namespace vmkit::x86::acpi
