// acpi_dump: writes the ACPI area vmkit would place at kAcpiStart to a file, for inspection
// (iasl, acpiexec) and for linux_smoke.sh, which loads it into a QEMU guest. Not a test.
//
//   acpi_dump [--cpus N] [--intx] [--ecam] [--mmio64 START SIZE] [--tables DIR] OUT.bin
//
// With --tables DIR, each table is also written to DIR/<SIGNATURE>.dat.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "arch/x86_64/acpi/tables.h"

using vmkit::x86::acpi::AcpiConfig;
using vmkit::x86::acpi::PciIntxRouting;

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: acpi_dump [--cpus N] [--intx] [--ecam] [--mmio64 START SIZE] "
               "[--tables DIR] OUT.bin\n");
  return 2;
}

bool write_file(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data),  // SAFETY: bytes viewed as chars
            static_cast<std::streamsize>(size));
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  AcpiConfig config;
  std::string out_path, tables_dir;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--cpus" && i + 1 < argc) {
      config.num_cpus = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 0));
    } else if (arg == "--intx") {
      config.pci_intx = PciIntxRouting{};
    } else if (arg == "--ecam") {
      config.pci_ecam = true;
    } else if (arg == "--mmio64" && i + 2 < argc) {
      config.pci_mmio64_start = std::strtoull(argv[++i], nullptr, 0);
      config.pci_mmio64_size = std::strtoull(argv[++i], nullptr, 0);
    } else if (arg == "--tables" && i + 1 < argc) {
      tables_dir = argv[++i];
    } else if (arg.starts_with("-") || !out_path.empty()) {
      return usage();
    } else {
      out_path = arg;
    }
  }
  if (out_path.empty()) return usage();

  auto tables = vmkit::x86::acpi::build_acpi_tables(config);
  if (!tables.ok()) {
    std::fprintf(stderr, "vmkit: error: %s\n", tables.error().message().c_str());
    return 1;
  }
  if (!write_file(out_path, tables->bytes.data(), tables->bytes.size())) {
    std::fprintf(stderr, "vmkit: error: cannot write %s\n", out_path.c_str());
    return 1;
  }
  for (const auto& t : tables->tables) {
    size_t at = t.address.value() - tables->base.value();
    std::printf("%-8s at 0x%05llx, %u bytes\n", t.signature.c_str(),
                static_cast<unsigned long long>(t.address.value()), t.length);
    if (tables_dir.empty()) continue;
    std::string name = t.signature == "RSD PTR " ? "RSDP" : t.signature;
    if (!write_file(tables_dir + "/" + name + ".dat", tables->bytes.data() + at, t.length)) {
      std::fprintf(stderr, "vmkit: error: cannot write into %s\n", tables_dir.c_str());
      return 1;
    }
  }
  return 0;
}
