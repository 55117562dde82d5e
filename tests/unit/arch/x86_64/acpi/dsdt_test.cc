// The DSDT against iasl: the table equals what iasl compiles from the ASL we mean, it
// disassembles cleanly, and the disassembly recompiles to the same AML.
#include "arch/x86_64/acpi/dsdt.h"

#include <gtest/gtest.h>

#include "acpica_tools.h"
#include "arch/x86_64/acpi/sdt.h"

namespace vmkit::x86::acpi {
namespace {

using testing::compile_asl;
using testing::disassemble;
using testing::hex;

::testing::AssertionResult same_aml(const std::vector<uint8_t>& ours,
                                    const std::vector<uint8_t>& ref) {
  if (ours == ref) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < ours.size() && i < ref.size() && ours[i] == ref[i]) ++i;
  return ::testing::AssertionFailure() << "first difference at byte " << i << "\nours:\n"
                                       << hex(ours) << "\niasl:\n"
                                       << hex(ref);
}

std::vector<uint8_t> body_of(const std::vector<uint8_t>& table) {
  return std::vector<uint8_t>(table.begin() + sizeof(SdtHeader), table.end());
}

constexpr const char* kLegacyDevicesAsl = R"(
    Device (COM1) {
      Name (_HID, EisaId ("PNP0501"))
      Name (_UID, One)
      Name (_CRS, ResourceTemplate () {
        IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08, )
        IRQNoFlags () {4}
      })
    }
    Device (RTC) {
      Name (_HID, EisaId ("PNP0B00"))
      Name (_CRS, ResourceTemplate () {
        IO (Decode16, 0x0070, 0x0070, 0x01, 0x02, )
        IRQNoFlags () {8}
      })
    })";

constexpr const char* kPciCrsAsl = R"(
        WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
          0x0000, 0x0000, 0x00FF, 0x0000, 0x0100, ,, )
        IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08, )
        WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
          0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8, ,, , TypeStatic, DenseTranslation)
        WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
          0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300, ,, , TypeStatic, DenseTranslation)
        DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
          0x00000000, 0xC0000000, 0xDFFFFFFF, 0x00000000, 0x20000000, ,, ,
          AddressRangeMemory, TypeStatic))";

TEST(DsdtVsIasl, DefaultMachine) {
  AcpiConfig c;  // 1 CPU, no 64-bit window, no _PRT, no ECAM
  std::string asl = std::string(R"(
  Name (\_S5, Package () { 5, 5, 0, 0 })
  Scope (\_SB) {
    Device (PCI0) {
      Name (_HID, EisaId ("PNP0A03"))
      Name (_SEG, Zero)
      Name (_BBN, Zero)
      Name (_UID, Zero)
      Name (_CRS, ResourceTemplate () {)") +
                    kPciCrsAsl + R"(
      })
    })" + kLegacyDevicesAsl +
                    R"(
    Device (C000) { Name (_HID, "ACPI0007") Name (_UID, Zero) }
  })";
  auto ref = compile_asl(asl, "-on");
  ASSERT_TRUE(ref.ok) << ref.log;
  EXPECT_TRUE(same_aml(body_of(build_dsdt(c)), ref.body));
}

TEST(DsdtVsIasl, FullMachine) {
  AcpiConfig c;
  c.num_cpus = 2;
  c.pci_mmio64_start = 0x1000000000;
  c.pci_mmio64_size = 0x1000000000;
  c.pci_intx = PciIntxRouting{.num_slots = 2, .first_gsi = 16, .num_gsis = 8};
  c.pci_ecam = true;
  std::string asl = std::string(R"(
  Name (\_S5, Package () { 5, 5, 0, 0 })
  Scope (\_SB) {
    Device (PCI0) {
      Name (_HID, EisaId ("PNP0A08"))
      Name (_CID, EisaId ("PNP0A03"))
      Name (_SEG, Zero)
      Name (_BBN, Zero)
      Name (_UID, Zero)
      Name (_CRS, ResourceTemplate () {)") +
                    kPciCrsAsl + R"(
        QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
          0x0, 0x1000000000, 0x1FFFFFFFFF, 0x0, 0x1000000000, ,, , AddressRangeMemory, TypeStatic)
      })
      Name (_PRT, Package () {
        Package () { 0xFFFF, 0, 0, 16 }, Package () { 0xFFFF, 1, 0, 17 },
        Package () { 0xFFFF, 2, 0, 18 }, Package () { 0xFFFF, 3, 0, 19 },
        Package () { 0x1FFFF, 0, 0, 17 }, Package () { 0x1FFFF, 1, 0, 18 },
        Package () { 0x1FFFF, 2, 0, 19 }, Package () { 0x1FFFF, 3, 0, 20 },
      })
    })" + kLegacyDevicesAsl +
                    R"(
    Device (C000) { Name (_HID, "ACPI0007") Name (_UID, Zero) }
    Device (C001) { Name (_HID, "ACPI0007") Name (_UID, One) }
    Device (MRES) {
      Name (_HID, EisaId ("PNP0C02"))
      Name (_UID, Zero)
      Name (_CRS, ResourceTemplate () {
        DWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
          0x00000000, 0xE0000000, 0xEFFFFFFF, 0x00000000, 0x10000000, ,, ,
          AddressRangeMemory, TypeStatic)
      })
    }
  })";
  auto ref = compile_asl(asl, "-on");
  ASSERT_TRUE(ref.ok) << ref.log;
  EXPECT_TRUE(same_aml(body_of(build_dsdt(c)), ref.body));
}

TEST(Dsdt, PrtSwizzlesPinsOverTheGsis) {
  PciIntxRouting r{.num_slots = 32, .first_gsi = 16, .num_gsis = 8};
  EXPECT_EQ(pci_intx_gsi(r, 0, 0), 16u);
  EXPECT_EQ(pci_intx_gsi(r, 0, 3), 19u);
  EXPECT_EQ(pci_intx_gsi(r, 5, 3), 16u);
  EXPECT_EQ(pci_intx_gsi(r, 31, 1), 16u);
  // 32 slots * 4 pins = 128 entries, within one Package's 255.
  auto prt = dsdt_pci_routing(r);
  ASSERT_GT(prt.size(), 9u);
  // NameOp "_PRT" PackageOp PkgLength(2 bytes) NumElements
  EXPECT_EQ(prt[5], 0x12);
  EXPECT_EQ(prt[6] >> 6, 1) << "two-byte PkgLength";
  EXPECT_EQ(prt[8], 128);
}

TEST(Dsdt, ProcessorNames) {
  EXPECT_EQ(processor_device_name(0), "C000");
  EXPECT_EQ(processor_device_name(299), "C12B");
  EXPECT_EQ(processor_device_name(4095), "CFFF");
  for (uint32_t i : {0u, 10u, 255u, 4095u}) {
    EXPECT_TRUE(aml::is_valid_name_path(processor_device_name(i))) << i;
  }
}

// iasl -d of our DSDT, recompiled by iasl, gives our AML back.
TEST(DsdtVsIasl, DisassemblyRecompilesToTheSameAml) {
  AcpiConfig c;
  c.num_cpus = 300;
  c.pci_mmio64_start = 0x2000000000;
  c.pci_mmio64_size = 0x1000000000;
  c.pci_intx = PciIntxRouting{};
  auto dsdt = build_dsdt(c);
  auto dis = disassemble(dsdt);
  ASSERT_TRUE(dis.ok) << dis.log;
  size_t open = dis.dsl.find("DefinitionBlock");
  ASSERT_NE(open, std::string::npos);
  size_t body_start = dis.dsl.find('{', open);
  size_t body_end = dis.dsl.rfind('}');
  ASSERT_NE(body_start, std::string::npos);
  auto ref = compile_asl(dis.dsl.substr(body_start + 1, body_end - body_start - 1), "-on");
  ASSERT_TRUE(ref.ok) << ref.log;
  EXPECT_TRUE(same_aml(body_of(dsdt), ref.body));
}

}  // namespace
}  // namespace vmkit::x86::acpi
