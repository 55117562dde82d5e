#include "arch/x86_64/acpi/tables.h"

#include <fmt/format.h>

#include <cstddef>

#include "arch/x86_64/acpi/dsdt.h"
#include "arch/x86_64/acpi/fadt.h"
#include "arch/x86_64/acpi/madt.h"
#include "arch/x86_64/acpi/sdt.h"
#include "arch/x86_64/layout.h"
#include "base/checked.h"

namespace vmkit::x86::acpi {
namespace {

constexpr uint8_t kXsdtRevision = 1;
constexpr uint8_t kMcfgRevision = 1;
constexpr uint64_t kTableAlignment = 16;

std::vector<uint8_t> build_mcfg() {
  std::vector<uint8_t> body(8, 0);  // reserved
  McfgAllocation a{};
  a.base_address = kPciEcamStart;
  a.segment = 0;
  a.start_bus = 0;
  a.end_bus = static_cast<uint8_t>(kPciEcamSize / (1 << 20) - 1);
  append_obj(body, a);
  return make_table("MCFG", kMcfgRevision, body);
}

std::vector<uint8_t> build_xsdt(const std::vector<uint64_t>& entries) {
  std::vector<uint8_t> body;
  for (uint64_t address : entries) append_obj(body, address);
  return make_table("XSDT", kXsdtRevision, body);
}

std::vector<uint8_t> build_rsdp(uint64_t xsdt_address) {
  Rsdp r{};
  copy_id(r.signature, sizeof(r.signature), "RSD PTR ", ' ');
  copy_id(r.oem_id, sizeof(r.oem_id), kOemId, ' ');
  r.revision = 2;
  r.rsdt_address = 0;
  r.length = sizeof(Rsdp);
  r.xsdt_address = xsdt_address;
  std::vector<uint8_t> out;
  append_obj(out, r);
  out[offsetof(Rsdp, checksum)] = checksum(std::span<const uint8_t>(out).first(kRsdpV1Length));
  out[offsetof(Rsdp, extended_checksum)] = checksum(out);
  return out;
}

// Lays tables out one after another in the ACPI area.
class Layout {
 public:
  explicit Layout(AcpiTables& out) : out_(out) {}

  // Reserves room for `size` bytes at the next `alignment` boundary; returns the offset.
  size_t reserve(size_t size, uint64_t alignment) {
    size_t at = align_up(out_.bytes.size(), alignment);
    out_.bytes.resize(at + size, 0);
    return at;
  }
  uint64_t address(size_t offset) const { return kAcpiStart + offset; }

  // Copies `table` at `offset` (reserved before) and records it.
  void place(size_t offset, const std::vector<uint8_t>& table, std::string signature) {
    std::copy(table.begin(), table.end(), out_.bytes.begin() + static_cast<ptrdiff_t>(offset));
    out_.tables.push_back(PlacedTable{std::move(signature), GuestAddress(address(offset)),
                                      static_cast<uint32_t>(table.size())});
  }
  size_t append(const std::vector<uint8_t>& table, std::string signature, uint64_t alignment) {
    size_t at = reserve(table.size(), alignment);
    place(at, table, std::move(signature));
    return at;
  }

 private:
  AcpiTables& out_;
};

}  // namespace

Result<AcpiTables> build_acpi_tables(const AcpiConfig& config) {
  TRY(validate(config));
  AcpiTables out;
  out.base = GuestAddress(kAcpiStart);
  Layout layout(out);

  // The RSDP comes first but points at the XSDT, which is written last: reserve its room now.
  size_t rsdp_at = layout.reserve(sizeof(Rsdp), kTableAlignment);
  size_t facs_at = layout.append(build_facs(), "FACS", kFacsAlignment);
  size_t dsdt_at = layout.append(build_dsdt(config), "DSDT", kTableAlignment);
  std::vector<uint64_t> xsdt_entries;
  auto fadt = build_fadt(config, static_cast<uint32_t>(layout.address(facs_at)),
                         static_cast<uint32_t>(layout.address(dsdt_at)));
  xsdt_entries.push_back(layout.address(layout.append(fadt, "FACP", kTableAlignment)));
  xsdt_entries.push_back(
      layout.address(layout.append(build_madt(config), "APIC", kTableAlignment)));
  if (config.pci_ecam) {
    xsdt_entries.push_back(layout.address(layout.append(build_mcfg(), "MCFG", kTableAlignment)));
  }
  size_t xsdt_at = layout.append(build_xsdt(xsdt_entries), "XSDT", kTableAlignment);
  layout.place(rsdp_at, build_rsdp(layout.address(xsdt_at)), "RSD PTR ");
  out.rsdp = GuestAddress(layout.address(rsdp_at));

  if (out.bytes.size() > kAcpiMaxSize) {
    return Error(fmt::format("ACPI tables for {} vCPUs need {} bytes, more than the {} reserved",
                             config.num_cpus, out.bytes.size(), kAcpiMaxSize));
  }
  return out;
}

Result<GuestAddress> write_acpi_tables(const GuestMemory& memory, const AcpiConfig& config) {
  AcpiTables tables = TRY(build_acpi_tables(config));
  auto context = [](const Error& e) { return e.context("writing ACPI tables"); };
  if (auto s = memory.fill(tables.base, 0, kAcpiMaxSize); !s) return context(s.error());
  if (auto s = memory.write(tables.base, tables.bytes); !s) return context(s.error());
  return tables.rsdp;
}

}  // namespace vmkit::x86::acpi
