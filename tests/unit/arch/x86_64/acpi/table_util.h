// Helpers for the table tests: find a built table by signature, read fixed structures from it.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "arch/x86_64/acpi/sdt.h"
#include "arch/x86_64/acpi/tables.h"

namespace vmkit::x86::acpi {

// Copies a field of a packed table struct, so gtest's macros (which take references) never bind
// a reference to a misaligned member.
template <typename T>
T v(T value) {
  return value;
}

}  // namespace vmkit::x86::acpi

namespace vmkit::x86::acpi::testing {

// The bytes of the table `signature` ("RSD PTR " for the RSDP) inside `tables`; fails the test
// and returns an empty vector when it is missing.
inline std::vector<uint8_t> find_table(const AcpiTables& tables, std::string_view signature) {
  for (const auto& t : tables.tables) {
    if (t.signature == signature) {
      size_t at = t.address.value() - tables.base.value();
      return std::vector<uint8_t>(tables.bytes.begin() + static_cast<ptrdiff_t>(at),
                                  tables.bytes.begin() + static_cast<ptrdiff_t>(at + t.length));
    }
  }
  ADD_FAILURE() << "no table " << signature;
  return {};
}

inline SdtHeader header_of(const std::vector<uint8_t>& table) {
  return read_obj<SdtHeader>(table);
}

inline std::string_view signature_of(const SdtHeader& h) {
  return std::string_view(h.signature, sizeof(h.signature));
}

// A config with everything optional switched on: 64-bit window, INTx routing, ECAM.
inline AcpiConfig full_config(uint32_t cpus) {
  AcpiConfig c;
  c.num_cpus = cpus;
  c.pci_mmio64_start = 0x1000000000;
  c.pci_mmio64_size = kPciMmio64Size;
  c.pci_intx = PciIntxRouting{};
  c.pci_ecam = true;
  return c;
}

}  // namespace vmkit::x86::acpi::testing
