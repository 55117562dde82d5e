#include "arch/x86_64/acpi/mptable.h"

#include <fmt/format.h>

#include <cstddef>
#include <cstring>

#include "arch/x86_64/acpi/madt.h"
#include "arch/x86_64/acpi/sdt.h"

namespace vmkit::x86::mptable {
namespace {

using acpi::AcpiConfig;

constexpr uint8_t kSpecRev = 4;           // MP 1.4
constexpr uint8_t kLapicVersion = 0x14;   // KVM's local APIC
constexpr uint8_t kIoApicVersion = 0x11;  // KVM's IOAPIC
constexpr uint8_t kCpuEnabled = 1 << 0;
constexpr uint8_t kCpuBootstrap = 1 << 1;
constexpr uint32_t kCpuSignature = 0x600;  // family 6; Linux only prints it
constexpr uint32_t kCpuFeatures = 0x201;   // FPU, APIC
constexpr uint8_t kIntTypeInt = 0;
constexpr uint8_t kIntTypeNmi = 1;
constexpr uint8_t kIntTypeExtInt = 3;
constexpr uint16_t kFlagsConforming = 0;  // conforms to the bus
constexpr uint16_t kFlagsLevelHigh = acpi::kMpsActiveHigh | acpi::kMpsLevel;
constexpr uint16_t kFlagsLevelLow = 0x3 | acpi::kMpsLevel;
constexpr uint8_t kAllLocalApics = 0xff;
constexpr unsigned kIsaIrqs = 16;

class Entries {
 public:
  template <typename T>
  void add(const T& entry) {
    acpi::append_obj(bytes_, entry);
    ++count_;
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  uint16_t count() const { return count_; }

 private:
  std::vector<uint8_t> bytes_;
  uint16_t count_ = 0;
};

InterruptEntry interrupt(uint8_t type, uint8_t int_type, uint16_t flags, uint8_t bus, uint8_t irq,
                         uint8_t dest, uint8_t pin) {
  return InterruptEntry{type, int_type, flags, bus, irq, dest, pin};
}

void add_interrupts(Entries& e, const AcpiConfig& config, uint8_t ioapic_id) {
  for (uint8_t irq = 0; irq < kIsaIrqs; ++irq) {
    uint16_t flags = irq == kAcpiSciIrq ? kFlagsLevelHigh : kFlagsConforming;
    e.add(interrupt(kEntryIoInterrupt, kIntTypeInt, flags, kIsaBusId, irq, ioapic_id, irq));
  }
  if (config.pci_intx) {
    const acpi::PciIntxRouting& r = *config.pci_intx;
    for (uint32_t slot = 0; slot < r.num_slots; ++slot) {
      for (uint32_t pin = 0; pin < 4; ++pin) {
        auto gsi = static_cast<uint8_t>(acpi::pci_intx_gsi(r, slot, pin));
        auto source = static_cast<uint8_t>(slot << 2 | pin);
        e.add(interrupt(kEntryIoInterrupt, kIntTypeInt, kFlagsLevelLow, kPciBusId, source,
                        ioapic_id, gsi));
      }
    }
  }
  // The 8259 feeds LINT0 of the bootstrap processor (virtual wire); NMI on LINT1 everywhere.
  const auto bsp = static_cast<uint8_t>(acpi::apic_id_of(config, 0));
  e.add(interrupt(kEntryLocalInterrupt, kIntTypeExtInt, kFlagsConforming, kIsaBusId, 0, bsp, 0));
  e.add(interrupt(kEntryLocalInterrupt, kIntTypeNmi, kFlagsConforming, kIsaBusId, 0, kAllLocalApics,
                  1));
}

}  // namespace

Result<MpTable> build_mp_table(const AcpiConfig& config) {
  TRY(acpi::validate(config));
  Entries e;
  for (uint32_t i = 0; i < config.num_cpus; ++i) {
    uint32_t id = acpi::apic_id_of(config, i);
    if (id >= 0xff) {
      return Error(fmt::format("MP table: APIC id {} of CPU {} does not fit 8 bits", id, i));
    }
    ProcessorEntry p{};
    p.type = kEntryProcessor;
    p.lapic_id = static_cast<uint8_t>(id);
    p.lapic_version = kLapicVersion;
    p.cpu_flags = static_cast<uint8_t>(kCpuEnabled | (i == 0 ? kCpuBootstrap : 0));
    p.cpu_signature = kCpuSignature;
    p.feature_flags = kCpuFeatures;
    e.add(p);
  }
  e.add(BusEntry{kEntryBus, kPciBusId, {'P', 'C', 'I', ' ', ' ', ' '}});
  e.add(BusEntry{kEntryBus, kIsaBusId, {'I', 'S', 'A', ' ', ' ', ' '}});
  const uint8_t ioapic_id = acpi::ioapic_id_of(config);
  e.add(IoApicEntry{kEntryIoApic, ioapic_id, kIoApicVersion, 1,
                    static_cast<uint32_t>(kIoapicAddress)});
  add_interrupts(e, config, ioapic_id);

  MpTable out;
  out.base = GuestAddress(kMpTableStart);
  const uint64_t config_address = kMpTableStart + sizeof(FloatingPointer);
  const size_t config_length = sizeof(ConfigHeader) + e.bytes().size();
  if (sizeof(FloatingPointer) + config_length > kMpTableMaxSize) {
    return Error(fmt::format("MP table for {} CPUs needs {} bytes, more than the {} reserved",
                             config.num_cpus, sizeof(FloatingPointer) + config_length,
                             kMpTableMaxSize));
  }

  FloatingPointer fp{};
  std::memcpy(fp.signature, "_MP_", 4);
  fp.config_table = static_cast<uint32_t>(config_address);
  fp.length = 1;
  fp.spec_rev = kSpecRev;
  acpi::append_obj(out.bytes, fp);
  out.bytes[offsetof(FloatingPointer, checksum)] = acpi::checksum(out.bytes);

  ConfigHeader h{};
  std::memcpy(h.signature, "PCMP", 4);
  h.base_table_length = static_cast<uint16_t>(config_length);
  h.spec_rev = kSpecRev;
  acpi::copy_id(h.oem_id, sizeof(h.oem_id), acpi::kOemId, ' ');
  acpi::copy_id(h.product_id, sizeof(h.product_id), "VMKIT", ' ');
  h.entry_count = e.count();
  h.lapic_address = static_cast<uint32_t>(kLapicAddress);
  const size_t header_at = out.bytes.size();
  acpi::append_obj(out.bytes, h);
  out.bytes.insert(out.bytes.end(), e.bytes().begin(), e.bytes().end());
  out.bytes[header_at + offsetof(ConfigHeader, checksum)] =
      acpi::checksum(std::span<const uint8_t>(out.bytes).subspan(header_at));
  return out;
}

Result<GuestAddress> write_mp_table(const GuestMemory& memory, const AcpiConfig& config) {
  MpTable table = TRY(build_mp_table(config));
  if (auto s = memory.fill(table.base, 0, kMpTableMaxSize); !s) {
    return s.error().context("writing the MP table");
  }
  if (auto s = memory.write(table.base, table.bytes); !s) {
    return s.error().context("writing the MP table");
  }
  return table.base;
}

}  // namespace vmkit::x86::mptable
