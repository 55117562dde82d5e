// The MP table read back the way Linux's mpparse does: find "_MP_" on a 16-byte boundary, check
// both checksums, walk the entries by type.
#include "arch/x86_64/acpi/mptable.h"

#include <gtest/gtest.h>

#include <cstring>

#include "arch/x86_64/acpi/madt.h"
#include "arch/x86_64/acpi/sdt.h"
#include "arch/x86_64/smbios/smbios.h"
#include "table_util.h"

namespace vmkit::x86::mptable {
namespace {

using acpi::v;

static_assert(kMpTableStart >= kSmbiosStart + smbios::kSmbiosMaxSize,
              "the MP table must not overlap the SMBIOS area");
static_assert(kMpTableStart + kMpTableMaxSize <= kBiosEnd);

struct Parsed {
  ConfigHeader header{};
  std::vector<ProcessorEntry> cpus;
  std::vector<BusEntry> buses;
  std::vector<IoApicEntry> ioapics;
  std::vector<InterruptEntry> io_ints;
  std::vector<InterruptEntry> local_ints;
};

Parsed parse(const MpTable& t) {
  Parsed p;
  EXPECT_EQ(t.base.value() % 16, 0u);
  auto fp = acpi::read_obj<FloatingPointer>(t.bytes);
  EXPECT_EQ(std::string(fp.signature, 4), "_MP_");
  EXPECT_EQ(fp.length, 1);
  EXPECT_EQ(fp.spec_rev, 4);
  EXPECT_EQ(fp.feature1, 0) << "a configuration table is present";
  EXPECT_TRUE(acpi::checksum_ok(std::span(t.bytes).first(16)));
  size_t at = fp.config_table - t.base.value();
  p.header = acpi::read_obj<ConfigHeader>(t.bytes, at);
  EXPECT_EQ(std::string(p.header.signature, 4), "PCMP");
  EXPECT_EQ(at + p.header.base_table_length, t.bytes.size());
  EXPECT_TRUE(acpi::checksum_ok(std::span(t.bytes).subspan(at, p.header.base_table_length)));
  EXPECT_EQ(v(p.header.lapic_address), kLapicAddress);
  size_t pos = at + sizeof(ConfigHeader);
  for (uint16_t i = 0; i < p.header.entry_count; ++i) {
    if (pos >= t.bytes.size()) {
      ADD_FAILURE() << "entry " << i << " past the table";
      break;
    }
    switch (t.bytes[pos]) {
      case kEntryProcessor:
        p.cpus.push_back(acpi::read_obj<ProcessorEntry>(t.bytes, pos));
        pos += sizeof(ProcessorEntry);
        break;
      case kEntryBus:
        p.buses.push_back(acpi::read_obj<BusEntry>(t.bytes, pos));
        pos += 8;
        break;
      case kEntryIoApic:
        p.ioapics.push_back(acpi::read_obj<IoApicEntry>(t.bytes, pos));
        pos += 8;
        break;
      case kEntryIoInterrupt:
        p.io_ints.push_back(acpi::read_obj<InterruptEntry>(t.bytes, pos));
        pos += 8;
        break;
      case kEntryLocalInterrupt:
        p.local_ints.push_back(acpi::read_obj<InterruptEntry>(t.bytes, pos));
        pos += 8;
        break;
      default:
        ADD_FAILURE() << "unknown entry type " << int{t.bytes[pos]};
        return p;
    }
  }
  EXPECT_EQ(pos, t.bytes.size());
  return p;
}

class MpTableForCpus : public ::testing::TestWithParam<uint32_t> {};

TEST_P(MpTableForCpus, ProcessorsBusesIoApicAndInterrupts) {
  acpi::AcpiConfig c;
  c.num_cpus = GetParam();
  auto t = build_mp_table(c);
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->base.value(), kMpTableStart);
  Parsed p = parse(*t);
  ASSERT_EQ(p.cpus.size(), c.num_cpus);
  for (uint32_t i = 0; i < c.num_cpus; ++i) {
    EXPECT_EQ(p.cpus[i].lapic_id, i);
    EXPECT_EQ(p.cpus[i].cpu_flags, i == 0 ? 3 : 1) << "enabled, bootstrap processor first";
  }
  ASSERT_EQ(p.buses.size(), 2u);
  EXPECT_EQ(p.buses[0].bus_id, kPciBusId);
  EXPECT_EQ(std::string(p.buses[0].bus_type, 6), "PCI   ");
  EXPECT_EQ(p.buses[1].bus_id, kIsaBusId);
  EXPECT_EQ(std::string(p.buses[1].bus_type, 6), "ISA   ");
  ASSERT_EQ(p.ioapics.size(), 1u);
  EXPECT_EQ(v(p.ioapics[0].address), kIoapicAddress);
  EXPECT_EQ(p.ioapics[0].ioapic_id, c.num_cpus);
  ASSERT_EQ(p.io_ints.size(), 16u);
  for (uint8_t irq = 0; irq < 16; ++irq) {
    EXPECT_EQ(p.io_ints[irq].source_bus_id, kIsaBusId);
    EXPECT_EQ(p.io_ints[irq].source_bus_irq, irq);
    EXPECT_EQ(p.io_ints[irq].dest_pin, irq) << "identity, IRQ 0 on pin 0 as KVM routes it";
    EXPECT_EQ(v(p.io_ints[irq].flags), irq == 9 ? 0x0d : 0) << int{irq};
  }
  ASSERT_EQ(p.local_ints.size(), 2u);
  EXPECT_EQ(p.local_ints[0].interrupt_type, 3);  // ExtINT
  EXPECT_EQ(p.local_ints[0].dest_pin, 0);
  EXPECT_EQ(p.local_ints[1].interrupt_type, 1);  // NMI
  EXPECT_EQ(p.local_ints[1].dest_id, 0xff);
  EXPECT_EQ(p.local_ints[1].dest_pin, 1);
}

INSTANTIATE_TEST_SUITE_P(Counts, MpTableForCpus, ::testing::Values(1u, 2u, 4u, 64u, 254u));

TEST(MpTable, PciIntxEntries) {
  acpi::AcpiConfig c;
  c.pci_intx = acpi::PciIntxRouting{.num_slots = 3, .first_gsi = 16, .num_gsis = 8};
  auto t = build_mp_table(c);
  ASSERT_TRUE(t.ok());
  Parsed p = parse(*t);
  ASSERT_EQ(p.io_ints.size(), 16u + 12u);
  for (size_t i = 16; i < p.io_ints.size(); ++i) {
    const InterruptEntry& e = p.io_ints[i];
    uint32_t slot = e.source_bus_irq >> 2, pin = e.source_bus_irq & 3;
    EXPECT_EQ(e.source_bus_id, kPciBusId);
    EXPECT_EQ(e.dest_pin, acpi::pci_intx_gsi(*c.pci_intx, slot, pin));
    EXPECT_EQ(v(e.flags), 0x0f) << "level, active-low";
  }
}

TEST(MpTable, ApicIdsAbove254AreAnError) {
  acpi::AcpiConfig c;
  c.num_cpus = 300;
  auto t = build_mp_table(c);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message().find("APIC id 255 of CPU 255"), std::string::npos)
      << t.error().message();
}

TEST(MpTable, WritesIntoGuestMemory) {
  auto mem = GuestMemory::create({{GuestAddress(0), 1 << 20}});
  ASSERT_TRUE(mem.ok());
  acpi::AcpiConfig c;
  c.num_cpus = 2;
  auto at = write_mp_table(*mem, c);
  ASSERT_TRUE(at.ok()) << at.error().message();
  auto fp = mem->read_obj<FloatingPointer>(*at);
  ASSERT_TRUE(fp.ok());
  EXPECT_EQ(std::string(fp->signature, 4), "_MP_");
  auto header = mem->read_obj<ConfigHeader>(GuestAddress(fp->config_table));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(std::string(header->signature, 4), "PCMP");
}

}  // namespace
}  // namespace vmkit::x86::mptable
