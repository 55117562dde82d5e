// SMBIOS 3.0 tables: what `dmidecode` and /sys/class/dmi/id show inside the guest (the VM's
// UUID, name and serial; the processors; the memory). The 64-bit entry point ("_SM3_") sits at
// kSmbiosStart, where Linux's scan of 0xF0000-0xFFFFF finds it, and the structure table follows.
//
// Structures: type 0 (BIOS), 1 (system: UUID, product name, serial), 3 (chassis), 4 (one per
// socket), 16 (memory array), 17 (one memory device of all RAM), 19 (one per RAM range),
// 32 (boot status), 127 (end of table).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "arch/x86_64/layout.h"
#include "base/result.h"
#include "memory/guest_address.h"
#include "memory/guest_memory.h"

namespace vmkit::x86::smbios {

// The SMBIOS area: [kSmbiosStart, kSmbiosStart + kSmbiosMaxSize). The rest of the BIOS area up
// to kBiosEnd is left for the MP table.
inline constexpr uint64_t kSmbiosMaxSize = 0x8000;

struct RamRange {
  uint64_t start;
  uint64_t size;
};

struct SmbiosConfig {
  // The VM's UUID in RFC 4122 byte order (the order of the printed form): the guest's
  // /sys/class/dmi/id/product_uuid and `dmidecode -s system-uuid` print it unchanged.
  std::array<uint8_t, 16> uuid{};
  std::string product_name = "vmkit";  // type 1 Product Name (e.g. the VM's name)
  std::string serial_number;           // type 1 and type 3 Serial Number ("" leaves it out)
  std::string manufacturer = "vmkit";  // BIOS vendor, system, chassis and processor manufacturer
  std::string version;                 // vmkit's version: BIOS version and system version
  std::string bios_release_date = "01/01/2026";  // mm/dd/yyyy; Linux keys some quirks on the year

  // CPU topology: sockets x cores_per_socket x threads_per_core vCPUs.
  uint32_t sockets = 1;
  uint32_t cores_per_socket = 1;
  uint32_t threads_per_core = 1;
  uint32_t cpuid_signature = 0;  // CPUID.1:EAX
  uint32_t cpuid_features = 0;   // CPUID.1:EDX
  std::string cpu_version;       // e.g. the CPUID brand string
  uint16_t cpu_mhz = 0;          // 0: unknown

  // Guest RAM as the e820 map lists it (usable RAM ranges).
  std::vector<RamRange> ram;
};

// Strings: at most 64 bytes of printable ASCII each. Topology counts >= 1 and their product at
// most 4096; RAM ranges non-empty, non-wrapping.
Status validate(const SmbiosConfig& config);

// The UUID as SMBIOS stores it: the first three fields byte-swapped to little-endian.
std::array<uint8_t, 16> smbios_uuid_bytes(const std::array<uint8_t, 16>& rfc4122);

struct SmbiosTables {
  GuestAddress base;           // kSmbiosStart: the entry point
  std::vector<uint8_t> bytes;  // entry point, padding, structure table
  GuestAddress table;          // where the structure table starts
  uint32_t table_length = 0;
  uint16_t structure_count = 0;
};

Result<SmbiosTables> build_smbios_tables(const SmbiosConfig& config);

// Builds the tables and writes them at kSmbiosStart (the rest of the SMBIOS area is zeroed).
// Returns the entry point's address.
Result<GuestAddress> write_smbios_tables(const GuestMemory& memory, const SmbiosConfig& config);

}  // namespace vmkit::x86::smbios
