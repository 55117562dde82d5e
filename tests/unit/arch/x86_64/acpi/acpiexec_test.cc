// The tables loaded by acpiexec: the ACPICA interpreter that Linux itself runs parses the FADT,
// loads the DSDT into a namespace, evaluates \_S5 and _PRT and decodes every _CRS through its
// resource manager. Any ACPICA error or warning fails the test.
#include <gtest/gtest.h>

#include <sstream>

#include "acpica_tools.h"
#include "table_util.h"

namespace vmkit::x86::acpi {
namespace {

using testing::find_table;
using testing::full_config;
using testing::run_acpiexec;

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// acpiexec's built-in hardware tests exercise blocks this platform does not have: PM2 (ARB_DIS
// bit register), GPE blocks and the PM timer. Those failures are expected; any other is not.
bool expected_unexpected(const std::string& line) {
  for (const char* ok : {"Unexpected AE_BAD_ADDRESS from AcpiWriteBitRegister",
                         "Unexpected AE_BAD_ADDRESS from AcpiReadBitRegister",
                         "Unexpected AE_SUPPORT from AcpiGetTimer"}) {
    if (contains(line, ok)) return true;
  }
  return contains(line, "Unexpected AE_BAD_PARAMETER from Acpi") && contains(line, "Gpe");
}

std::string run(const AcpiConfig& config, const std::string& commands) {
  auto tables = build_acpi_tables(config);
  EXPECT_TRUE(tables.ok()) << tables.error().message();
  if (!tables.ok()) return {};
  std::vector<std::vector<uint8_t>> files;
  for (const char* sig : {"FACP", "DSDT", "APIC"}) files.push_back(find_table(*tables, sig));
  if (config.pci_ecam) files.push_back(find_table(*tables, "MCFG"));
  auto r = run_acpiexec(files, commands);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string& out = r.output;
  EXPECT_TRUE(contains(out, "1 ACPI AML tables successfully acquired and loaded")) << out;
  for (const char* bad : {"ACPI Error", "ACPI Warning", "ACPI BIOS Error", "ACPI BIOS Warning",
                          "Firmware Bug", "ACPI Exception", "****", "AE_AML_", "mismatch"}) {
    EXPECT_FALSE(contains(out, bad)) << "acpiexec reports \"" << bad << "\":\n" << out;
  }
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (contains(line, "Unexpected")) {
      EXPECT_TRUE(expected_unexpected(line)) << line;
    }
  }
  return out;
}

TEST(Acpiexec, LoadsTheDefaultMachine) {
  AcpiConfig c;
  std::string out = run(c,
                        "Evaluate \\_S5; Resources \\_SB.PCI0; Resources \\_SB.COM1;"
                        " Resources \\_SB.RTC; Evaluate \\_SB.C000._UID");
  EXPECT_TRUE(contains(out, "ACPI: FACP")) << out;
  EXPECT_TRUE(contains(out, "(v06 VMKIT  VMKITFAC")) << out;
  // \_S5: SLP_TYP 5 for PM1a (and b).
  EXPECT_TRUE(contains(out,
                       "[Package] Contains 4 Elements:\n    [Integer] = 0000000000000005\n"
                       "    [Integer] = 0000000000000005"))
      << out;
  // PCI0 windows, decoded by ACPICA's resource manager.
  for (const char* field :
       {"Resource Type : Bus Number Range", "Address Maximum : 00FF", "Address Minimum : 0CF8",
        "Address Maximum : 0CF7", "Address Minimum : 0D00", "Address Minimum : C0000000",
        "Address Maximum : DFFFFFFF", "Interrupt List : 4", "Address Minimum : 03F8",
        "Address Minimum : 0070", "Interrupt List : 8"}) {
    EXPECT_TRUE(contains(out, field)) << field << " missing:\n" << out;
  }
  EXPECT_FALSE(contains(out, "64-Bit QWORD Address Space Resource")) << "no 64-bit window";
}

TEST(Acpiexec, LoadsTheFullMachine) {
  AcpiConfig c = full_config(300);
  std::string out = run(c,
                        "Resources \\_SB.PCI0; Resources \\_SB.MRES; Evaluate \\_SB.PCI0._PRT;"
                        " Evaluate \\_SB.C12B._UID; Evaluate \\_SB.PCI0._HID");
  for (const char* field :
       {"64-Bit QWORD Address Space Resource", "Address Minimum : 0000001000000000",
        "Address Maximum : 0000001FFFFFFFFF", "Address Minimum : E0000000",
        "Address Maximum : EFFFFFFF", "[Package] Contains 128 Elements",
        "[Integer] = 000000000000012B", "[Integer] = 00000000080AD041"}) {
    EXPECT_TRUE(contains(out, field)) << field << " missing:\n" << out;
  }
}

}  // namespace
}  // namespace vmkit::x86::acpi
