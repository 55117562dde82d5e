// The SMBIOS tables decoded by dmidecode, the tool a guest's user runs: no complaints, and the
// VM's identity, processors and memory as configured.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "arch/x86_64/smbios/smbios.h"
#include "arch/x86_64/smbios/structures.h"

#ifndef VMKIT_DMIDECODE
#define VMKIT_DMIDECODE "dmidecode"
#endif

namespace vmkit::x86::smbios {
namespace {

// A dmidecode --dump-bin file: the entry point at offset 0 with its table address rewritten
// to 0x20, and the structure table at 0x20.
class DumpFile {
 public:
  explicit DumpFile(const SmbiosTables& t) {
    char tmpl[] = "/tmp/vmkit-smbios-XXXXXX";
    int fd = ::mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    if (fd >= 0) ::close(fd);
    path_ = tmpl;
    std::vector<uint8_t> out(t.bytes.begin(), t.bytes.begin() + 0x20);
    EntryPoint64 ep;
    std::memcpy(&ep, out.data(), sizeof(ep));
    ep.table_address = 0x20;
    ep.checksum = 0;
    std::memcpy(out.data(), &ep, sizeof(ep));
    uint8_t sum = 0;
    for (size_t i = 0; i < sizeof(ep); ++i) sum = static_cast<uint8_t>(sum + out[i]);
    out[offsetof(EntryPoint64, checksum)] = static_cast<uint8_t>(-sum);
    size_t table_at = t.table.value() - t.base.value();
    out.insert(out.end(), t.bytes.begin() + static_cast<ptrdiff_t>(table_at), t.bytes.end());
    std::ofstream f(path_, std::ios::binary);
    f.write(reinterpret_cast<const char*>(out.data()),  // SAFETY: bytes viewed as chars
            static_cast<std::streamsize>(out.size()));
  }
  ~DumpFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string run_dmidecode(const std::string& args) {
  std::string command = VMKIT_DMIDECODE " " + args + " 2>&1";
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return "popen failed";
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int status = ::pclose(pipe);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  EXPECT_EQ(code, 0) << command << "\n" << out << (code == 127 ? "\n(install dmidecode)" : "");
  return out;
}

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

SmbiosConfig config() {
  SmbiosConfig c;
  c.uuid = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
            0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  c.product_name = "web-01";
  c.serial_number = "VMKIT-0042";
  c.version = "0.1.0";
  c.sockets = 2;
  c.cores_per_socket = 4;
  c.threads_per_core = 2;
  c.cpuid_signature = 0x00a00f11;
  c.cpuid_features = 0x178bfbff;
  c.cpu_version = "AMD EPYC 7B13";
  c.cpu_mhz = 2450;
  c.ram = {{0, 3ull << 30}, {4ull << 30, 1ull << 30}};
  return c;
}

TEST(Dmidecode, DecodesEverythingCleanly) {
  auto t = build_smbios_tables(config());
  ASSERT_TRUE(t.ok()) << t.error().message();
  DumpFile dump(*t);
  std::string out = run_dmidecode("--from-dump " + dump.path());
  for (const char* bad : {"OUT OF SPEC", "BAD INDEX", "Invalid", "Wrong", "Bad checksum",
                          "truncated", "Unknown Type", "structures occupying"}) {
    EXPECT_FALSE(contains(out, bad)) << "dmidecode says \"" << bad << "\":\n" << out;
  }
  for (const char* field : {"SMBIOS 3.0.0 present.",
                            "Vendor: vmkit",
                            "Version: 0.1.0",
                            "Release Date: 01/01/2026",
                            "BIOS characteristics not supported",
                            "System is a virtual machine",
                            "Manufacturer: vmkit",
                            "Product Name: web-01",
                            "Serial Number: VMKIT-0042",
                            "UUID: 12345678-9abc-4def-8123-456789abcdef",
                            "Wake-up Type: Power Switch",
                            "Family: Virtual Machine",
                            "Socket Designation: CPU 0",
                            "Socket Designation: CPU 1",
                            "Version: AMD EPYC 7B13",
                            "Core Count: 4",
                            "Thread Count: 8",
                            "Max Speed: 2450 MHz",
                            "Status: Populated, Enabled",
                            "64-bit capable",
                            "Multi-Core",
                            "Hardware Thread",
                            "Maximum Capacity: 4 GB",
                            "Number Of Devices: 1",
                            "Size: 4 GB",
                            "Locator: DIMM 0",
                            "Starting Address: 0x00000000000",
                            "Ending Address: 0x000BFFFFFFF",
                            "Starting Address: 0x00100000000",
                            "Ending Address: 0x0013FFFFFFF",
                            "Status: No errors detected",
                            "End Of Table"}) {
    EXPECT_TRUE(contains(out, field)) << field << " missing:\n" << out;
  }
}

TEST(Dmidecode, StringQueriesShowTheVmIdentity) {
  auto t = build_smbios_tables(config());
  ASSERT_TRUE(t.ok());
  DumpFile dump(*t);
  EXPECT_EQ(run_dmidecode("--from-dump " + dump.path() + " -s system-uuid"),
            "12345678-9abc-4def-8123-456789abcdef\n");
  EXPECT_EQ(run_dmidecode("--from-dump " + dump.path() + " -s system-product-name"), "web-01\n");
  EXPECT_EQ(run_dmidecode("--from-dump " + dump.path() + " -s system-serial-number"),
            "VMKIT-0042\n");
}

TEST(Dmidecode, ManyCoresAndLargeMemory) {
  SmbiosConfig c = config();
  c.sockets = 1;
  c.cores_per_socket = 300;
  c.threads_per_core = 1;
  c.ram = {{0, 3ull << 30}, {4ull << 30, 5ull << 40}};
  auto t = build_smbios_tables(c);
  ASSERT_TRUE(t.ok());
  DumpFile dump(*t);
  std::string out = run_dmidecode("--from-dump " + dump.path());
  for (const char* field : {"Core Count: 300", "Thread Count: 300", "Size: 5123 GB",
                            "Ending Address: 0x00000500FFFFFFFF", "Range Size: 5 TB"}) {
    EXPECT_TRUE(contains(out, field)) << field << " missing:\n" << out;
  }
  EXPECT_FALSE(contains(out, "OUT OF SPEC")) << out;
}

}  // namespace
}  // namespace vmkit::x86::smbios
