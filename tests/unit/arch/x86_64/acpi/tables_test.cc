// The table set as a whole: lengths, checksums, the pointer chain RSDP -> XSDT -> FADT -> DSDT/FACS
// followed through guest memory, the area bounds and the errors.
#include "arch/x86_64/acpi/tables.h"

#include <gtest/gtest.h>

#include <set>

#include "arch/x86_64/acpi/fadt.h"
#include "arch/x86_64/layout.h"
#include "table_util.h"

namespace vmkit::x86::acpi {
namespace {

using testing::find_table;
using testing::full_config;
using testing::header_of;
using testing::signature_of;

GuestMemory low_memory() {
  auto mem = GuestMemory::create({{GuestAddress(0), 2 << 20}});
  EXPECT_TRUE(mem.ok()) << mem.error().message();
  return std::move(mem).value();
}

class TablesForConfig : public ::testing::TestWithParam<AcpiConfig> {};

TEST_P(TablesForConfig, EveryTableHasItsLengthAndChecksum) {
  auto tables = build_acpi_tables(GetParam());
  ASSERT_TRUE(tables.ok()) << tables.error().message();
  EXPECT_EQ(v(tables->base), GuestAddress(kAcpiStart));
  EXPECT_LE(tables->bytes.size(), kAcpiMaxSize);
  std::set<std::string> seen;
  for (const auto& placed : tables->tables) {
    SCOPED_TRACE(placed.signature);
    EXPECT_TRUE(seen.insert(placed.signature).second);
    EXPECT_GE(placed.address.value(), kAcpiStart);
    EXPECT_LE(placed.address.value() + placed.length, kAcpiStart + tables->bytes.size());
    auto bytes = find_table(*tables, placed.signature);
    if (placed.signature == "RSD PTR ") {
      Rsdp r = read_obj<Rsdp>(bytes);
      EXPECT_EQ(v(r.length), sizeof(Rsdp));
      EXPECT_TRUE(checksum_ok(std::span(bytes).first(kRsdpV1Length)));
      EXPECT_TRUE(checksum_ok(bytes));
      EXPECT_EQ(placed.address.value() % 16, 0u);
    } else if (placed.signature == "FACS") {
      Facs f = read_obj<Facs>(bytes);
      EXPECT_EQ(v(f.length), 64u);  // the FACS has no checksum
      EXPECT_EQ(placed.address.value() % kFacsAlignment, 0u);
    } else {
      SdtHeader h = header_of(bytes);
      EXPECT_EQ(signature_of(h), placed.signature);
      EXPECT_EQ(v(h.length), placed.length);
      EXPECT_TRUE(checksum_ok(bytes));
      EXPECT_EQ(std::string_view(h.oem_id, 6), "VMKIT ");
      EXPECT_EQ(std::string_view(h.oem_table_id, 8), "VMKIT" + placed.signature.substr(0, 3));
    }
  }
  std::set<std::string> expected = {"RSD PTR ", "XSDT", "FACP", "FACS", "DSDT", "APIC"};
  if (GetParam().pci_ecam) expected.insert("MCFG");
  EXPECT_EQ(seen, expected);
}

AcpiConfig cpus(uint32_t n) {
  AcpiConfig c;
  c.num_cpus = n;
  return c;
}

INSTANTIATE_TEST_SUITE_P(Configs, TablesForConfig,
                         ::testing::Values(cpus(1), cpus(2), cpus(255), cpus(300), full_config(1),
                                           full_config(8), full_config(1024)));

// Follows the pointers the way the guest does, through guest memory.
TEST(WriteAcpiTables, PointersResolveInGuestMemory) {
  GuestMemory mem = low_memory();
  ASSERT_TRUE(mem.fill(GuestAddress(kAcpiStart), 0xcc, kAcpiMaxSize).ok());
  auto rsdp_addr = write_acpi_tables(mem, full_config(4));
  ASSERT_TRUE(rsdp_addr.ok()) << rsdp_addr.error().message();
  EXPECT_EQ(rsdp_addr->value(), kAcpiStart);

  auto rsdp = mem.read_obj<Rsdp>(*rsdp_addr);
  ASSERT_TRUE(rsdp.ok());
  EXPECT_EQ(std::string_view(rsdp->signature, 8), "RSD PTR ");
  EXPECT_EQ(v(rsdp->revision), 2);

  auto read_table = [&](uint64_t addr) {
    auto h = mem.read_obj<SdtHeader>(GuestAddress(addr));
    EXPECT_TRUE(h.ok());
    std::vector<uint8_t> bytes(h->length);
    EXPECT_TRUE(mem.read(GuestAddress(addr), bytes).ok());
    EXPECT_TRUE(checksum_ok(bytes)) << signature_of(*h);
    return bytes;
  };
  auto xsdt = read_table(rsdp->xsdt_address);
  ASSERT_EQ(signature_of(header_of(xsdt)), "XSDT");
  size_t entries = (xsdt.size() - sizeof(SdtHeader)) / 8;
  std::vector<std::string> signatures;
  uint64_t fadt_addr = 0;
  for (size_t i = 0; i < entries; ++i) {
    auto addr = read_obj<uint64_t>(xsdt, sizeof(SdtHeader) + 8 * i);
    auto t = read_table(addr);
    signatures.emplace_back(signature_of(header_of(t)));
    if (signatures.back() == "FACP") fadt_addr = addr;
  }
  EXPECT_EQ(signatures, (std::vector<std::string>{"FACP", "APIC", "MCFG"}));

  auto fadt = mem.read_obj<Fadt>(GuestAddress(fadt_addr));
  ASSERT_TRUE(fadt.ok());
  EXPECT_EQ(signature_of(header_of(read_table(fadt->x_dsdt))), "DSDT");
  EXPECT_EQ(v(fadt->dsdt), v(fadt->x_dsdt));
  auto facs = mem.read_obj<Facs>(GuestAddress(fadt->x_firmware_ctrl));
  ASSERT_TRUE(facs.ok());
  EXPECT_EQ(std::string_view(facs->signature, 4), "FACS");
  EXPECT_EQ(v(fadt->firmware_ctrl), v(fadt->x_firmware_ctrl));

  // The rest of the area is zeroed, not left with old contents.
  auto tables = build_acpi_tables(full_config(4));
  ASSERT_TRUE(tables.ok());
  auto tail = mem.span(GuestAddress(kAcpiStart + tables->bytes.size()),
                       kAcpiMaxSize - tables->bytes.size());
  ASSERT_TRUE(tail.ok());
  for (uint8_t b : *tail) ASSERT_EQ(b, 0);
}

TEST(WriteAcpiTables, RewritingGivesTheSameBytes) {
  GuestMemory mem = low_memory();
  ASSERT_TRUE(write_acpi_tables(mem, full_config(2)).ok());
  std::vector<uint8_t> first(kAcpiMaxSize);
  ASSERT_TRUE(mem.read(GuestAddress(kAcpiStart), first).ok());
  ASSERT_TRUE(write_acpi_tables(mem, full_config(2)).ok());
  std::vector<uint8_t> second(kAcpiMaxSize);
  ASSERT_TRUE(mem.read(GuestAddress(kAcpiStart), second).ok());
  EXPECT_EQ(first, second);
}

TEST(WriteAcpiTables, AreaOutsideGuestMemoryIsAnError) {
  auto mem = GuestMemory::create({{GuestAddress(0), 0x80000}});  // 512 KiB: no 0xE0000
  ASSERT_TRUE(mem.ok());
  auto r = write_acpi_tables(*mem, cpus(1));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("writing ACPI tables"), std::string::npos)
      << r.error().message();
}

TEST(BuildAcpiTables, TooManyCpusForTheAreaIsAnError) {
  auto r = build_acpi_tables(cpus(kMaxAcpiCpus));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("more than the 65536 reserved"), std::string::npos)
      << r.error().message();
}

TEST(BuildAcpiTables, InvalidConfigsAreErrors) {
  auto expect_error = [](AcpiConfig c, std::string_view what) {
    auto r = build_acpi_tables(c);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_NE(r.error().message().find(what), std::string::npos) << r.error().message();
  };
  expect_error(cpus(0), "0 vCPUs");
  expect_error(cpus(kMaxAcpiCpus + 1), "4097 vCPUs");
  AcpiConfig c = cpus(2);
  c.apic_ids = {0};
  expect_error(c, "1 APIC ids for 2 vCPUs");
  c.apic_ids = {3, 3};
  expect_error(c, "duplicate APIC id 3");
  c = cpus(1);
  c.pci_mmio32_start = 0xf0000000;
  c.pci_mmio32_size = 0x20000000;
  expect_error(c, "32-bit window 0xf0000000+0x20000000");
  c = cpus(1);
  c.pci_mmio32_size = 0;
  expect_error(c, "empty 32-bit PCI window");
  c = cpus(1);
  c.pci_mmio64_start = ~uint64_t{0} - 10;
  c.pci_mmio64_size = 0x1000;
  expect_error(c, "64-bit window");
  c = cpus(1);
  c.pci_intx = PciIntxRouting{.num_slots = 33};
  expect_error(c, "33 slots");
  c.pci_intx = PciIntxRouting{.num_slots = 4, .first_gsi = 20, .num_gsis = 8};
  expect_error(c, "GSIs 20+8");
  c.pci_intx = PciIntxRouting{.num_slots = 4, .first_gsi = 10, .num_gsis = 4};
  expect_error(c, "GSIs 10+4");
}

TEST(BuildAcpiTables, McfgDescribesEcam) {
  auto tables = build_acpi_tables(full_config(1));
  ASSERT_TRUE(tables.ok());
  auto mcfg = find_table(*tables, "MCFG");
  ASSERT_EQ(mcfg.size(), sizeof(SdtHeader) + 8 + sizeof(McfgAllocation));
  auto a = read_obj<McfgAllocation>(mcfg, sizeof(SdtHeader) + 8);
  EXPECT_EQ(v(a.base_address), kPciEcamStart);
  EXPECT_EQ(v(a.segment), 0);
  EXPECT_EQ(v(a.start_bus), 0);
  EXPECT_EQ(v(a.end_bus), 255);
}

}  // namespace
}  // namespace vmkit::x86::acpi
