// Every table vmkit builds, disassembled by iasl -d: no errors or warnings, and the objects and
// fields we put there show up decoded.
#include <gtest/gtest.h>

#include "acpica_tools.h"
#include "table_util.h"

namespace vmkit::x86::acpi {
namespace {

using testing::disassemble;
using testing::find_table;
using testing::full_config;

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// Disassembles `signature` from the tables for `config` and checks iasl was happy with it.
std::string clean_disassembly(const AcpiConfig& config, const std::string& signature) {
  auto tables = build_acpi_tables(config);
  EXPECT_TRUE(tables.ok()) << tables.error().message();
  if (!tables.ok()) return {};
  auto dis = disassemble(find_table(*tables, signature));
  EXPECT_TRUE(dis.ok) << dis.log;
  std::string all = dis.log + dis.dsl;
  for (const char* bad : {"Error", "Warning", "Invalid", "****", "checksum is incorrect", "Unknown",
                          "terminates in the middle"}) {
    EXPECT_EQ(all.find(bad), std::string::npos)
        << "iasl says \"" << bad << "\" about " << signature << ":\n"
        << all;
  }
  return dis.dsl;
}

class Disassembly : public ::testing::TestWithParam<uint32_t> {};

TEST_P(Disassembly, Dsdt) {
  std::string dsl = clean_disassembly(full_config(GetParam()), "DSDT");
  for (const char* name :
       {"Name (\\_S5, Package (0x04)", "Scope (\\_SB)", "Device (PCI0)", "EisaId (\"PNP0A08\")",
        "EisaId (\"PNP0A03\")", "Name (_PRT", "Device (COM1)", "EisaId (\"PNP0501\")",
        "Device (RTC)", "EisaId (\"PNP0B00\")", "Device (MRES)", "WordBusNumber", "QWordMemory",
        "Device (C000)"}) {
    EXPECT_NE(dsl.find(name), std::string::npos) << name << " missing:\n" << dsl;
  }
  EXPECT_EQ(count(dsl, "\"ACPI0007\""), GetParam());
}

TEST_P(Disassembly, Fadt) {
  std::string dsl = clean_disassembly(full_config(GetParam()), "FACP");
  for (const char* field :
       {"Revision : 06", "SCI Interrupt : 0009", "SMI Command Port : 00000000",
        "PM1A Event Block Address : 00000600", "PM1A Control Block Address : 00000604",
        "PM Timer Block Address : 00000000", "Control Method Power Button (V1) : 0",
        "Control Method Sleep Button (V1) : 1", "VGA Not Present (V4) : 1",
        "Reset Register Supported (V2) : 0", "Hardware Reduced (V5) : 0"}) {
    EXPECT_NE(dsl.find(field), std::string::npos) << field << " missing:\n" << dsl;
  }
}

TEST_P(Disassembly, Madt) {
  const uint32_t n = GetParam();
  std::string dsl = clean_disassembly(full_config(n), "APIC");
  EXPECT_EQ(count(dsl, "[Processor Local APIC]"), std::min(n, 255u));
  EXPECT_EQ(count(dsl, "[Processor Local x2APIC]"), n > 255 ? n - 255 : 0);
  EXPECT_EQ(count(dsl, "[I/O APIC]"), 1u);
  EXPECT_EQ(count(dsl, "[Interrupt Source Override]"), 1u);
  EXPECT_EQ(count(dsl, "[Local APIC NMI]"), 1u);
  EXPECT_EQ(count(dsl, "[Local x2APIC NMI]"), n > 255 ? 1u : 0u);
  EXPECT_NE(dsl.find("Address : FEC00000"), std::string::npos) << dsl;
  EXPECT_NE(dsl.find("PC-AT Compatibility : 1"), std::string::npos) << dsl;
}

TEST_P(Disassembly, XsdtMcfgAndFacs) {
  std::string xsdt = clean_disassembly(full_config(GetParam()), "XSDT");
  EXPECT_EQ(count(xsdt, "ACPI Table Address"), 3u) << xsdt;
  std::string mcfg = clean_disassembly(full_config(GetParam()), "MCFG");
  EXPECT_NE(mcfg.find("Base Address : 00000000E0000000"), std::string::npos) << mcfg;
  EXPECT_NE(mcfg.find("End Bus Number : FF"), std::string::npos) << mcfg;
  std::string facs = clean_disassembly(full_config(GetParam()), "FACS");
  EXPECT_NE(facs.find("Version : 02"), std::string::npos) << facs;
}

// (iasl 20200925 cannot disassemble a binary RSDP: "RSD " is not a valid table signature for
// its file loader. tables_test.cc checks the RSDP field by field.)

INSTANTIATE_TEST_SUITE_P(Cpus, Disassembly, ::testing::Values(1u, 2u, 4u, 255u, 300u));

}  // namespace
}  // namespace vmkit::x86::acpi
