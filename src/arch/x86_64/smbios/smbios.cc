#include "arch/x86_64/smbios/smbios.h"

#include <fmt/format.h>

#include <cstring>
#include <type_traits>

#include "arch/x86_64/smbios/structures.h"
#include "base/checked.h"

namespace vmkit::x86::smbios {
namespace {

constexpr size_t kMaxStringLength = 64;
constexpr uint32_t kMaxCpus = 4096;
constexpr uint64_t kEntryPointSize = 0x20;  // the entry point, padded; the table follows
constexpr uint16_t kNoHandle = 0xffff;      // "not provided" for cache handles
constexpr uint16_t kNoErrorInformation = 0xfffe;

// A structure's string set: strings are referenced by 1-based index; 0 means "no string".
class Strings {
 public:
  uint8_t add(const std::string& s) {
    if (s.empty()) return 0;
    list_.push_back(s);
    return static_cast<uint8_t>(list_.size());
  }
  void append_to(std::vector<uint8_t>& out) const {
    for (const auto& s : list_) {
      out.insert(out.end(), s.begin(), s.end());
      out.push_back(0);
    }
    if (list_.empty()) out.push_back(0);  // an empty set is two NULs
    out.push_back(0);
  }

 private:
  std::vector<std::string> list_;
};

class TableBuilder {
 public:
  uint16_t next_handle() const { return count_; }

  template <typename T>
  void add(T formatted, uint8_t type, const Strings& strings) {
    static_assert(std::is_trivially_copyable_v<T>);
    formatted.header.type = type;
    formatted.header.length = sizeof(T);
    formatted.header.handle = count_++;
    size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    std::memcpy(bytes_.data() + at, &formatted, sizeof(T));
    strings.append_to(bytes_);
  }
  void add_end_of_table() {
    struct [[gnu::packed]] End {
      Header header;
    };
    add(End{}, kTypeEndOfTable, Strings{});
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  uint16_t count() const { return count_; }

 private:
  std::vector<uint8_t> bytes_;
  uint16_t count_ = 0;
};

void add_bios(TableBuilder& t, const SmbiosConfig& c) {
  Strings s;
  BiosInfo b{};
  b.vendor = s.add(c.manufacturer);
  b.version = s.add(c.version);
  b.release_date = s.add(c.bios_release_date);
  b.characteristics = 1u << 3;       // "BIOS characteristics not supported": there is no BIOS
  b.characteristics_ext1 = 1u << 0;  // ACPI supported
  b.characteristics_ext2 = 1u << 4;  // the table describes a virtual machine
  b.ec_major_release = 0xff;         // no embedded controller
  b.ec_minor_release = 0xff;
  t.add(b, kTypeBios, s);
}

void add_system(TableBuilder& t, const SmbiosConfig& c) {
  Strings s;
  SystemInfo i{};
  i.manufacturer = s.add(c.manufacturer);
  i.product_name = s.add(c.product_name);
  i.version = s.add(c.version);
  i.serial_number = s.add(c.serial_number);
  auto uuid = smbios_uuid_bytes(c.uuid);
  std::memcpy(i.uuid, uuid.data(), uuid.size());
  i.wake_up_type = 0x06;  // power switch
  i.family = s.add("Virtual Machine");
  t.add(i, kTypeSystem, s);
}

void add_chassis(TableBuilder& t, const SmbiosConfig& c) {
  Strings s;
  Chassis ch{};
  ch.manufacturer = s.add(c.manufacturer);
  ch.type = 0x01;  // other
  ch.serial_number = s.add(c.serial_number);
  ch.boot_up_state = 0x03;  // safe
  ch.power_supply_state = 0x03;
  ch.thermal_state = 0x03;
  ch.security_status = 0x02;  // unknown
  t.add(ch, kTypeChassis, s);
}

void add_processors(TableBuilder& t, const SmbiosConfig& c) {
  const uint32_t threads = c.cores_per_socket * c.threads_per_core;
  for (uint32_t socket = 0; socket < c.sockets; ++socket) {
    Strings s;
    Processor p{};
    p.socket_designation = s.add(fmt::format("CPU {}", socket));
    p.processor_type = 0x03;  // central processor
    p.family = 0x01;          // other
    p.family2 = 0x01;
    p.manufacturer = s.add(c.manufacturer);
    p.id_eax = c.cpuid_signature;
    p.id_edx = c.cpuid_features;
    p.version = s.add(c.cpu_version);
    p.max_speed = c.cpu_mhz;
    p.current_speed = c.cpu_mhz;
    p.status = 0x41;   // socket populated, CPU enabled
    p.upgrade = 0x01;  // other
    p.l1_cache_handle = kNoHandle;
    p.l2_cache_handle = kNoHandle;
    p.l3_cache_handle = kNoHandle;
    // Counts above 255 go in the 16-bit fields with 0xff in the 8-bit ones (SMBIOS 3.0).
    p.core_count = static_cast<uint8_t>(c.cores_per_socket < 0xff ? c.cores_per_socket : 0xff);
    p.core_enabled = p.core_count;
    p.thread_count = static_cast<uint8_t>(threads < 0xff ? threads : 0xff);
    p.core_count2 = static_cast<uint16_t>(c.cores_per_socket);
    p.core_enabled2 = p.core_count2;
    p.thread_count2 = static_cast<uint16_t>(threads);
    p.characteristics = 1u << 2;                               // 64-bit capable
    if (c.cores_per_socket > 1) p.characteristics |= 1u << 3;  // multi-core
    if (c.threads_per_core > 1) p.characteristics |= 1u << 4;  // hardware threads
    t.add(p, kTypeProcessor, s);
  }
}

void add_memory(TableBuilder& t, const SmbiosConfig& c) {
  uint64_t total = 0;
  for (const auto& r : c.ram) total += r.size;

  const uint16_t array_handle = t.next_handle();
  MemoryArray a{};
  a.location = 0x03;          // system board
  a.use = 0x03;               // system memory
  a.error_correction = 0x03;  // none
  if (total / 1024 < 0x80000000) {
    a.maximum_capacity_kb = static_cast<uint32_t>(total / 1024);
  } else {
    a.maximum_capacity_kb = 0x80000000;
    a.extended_maximum_capacity = total;
  }
  a.error_information_handle = kNoErrorInformation;
  a.number_of_devices = 1;
  t.add(a, kTypeMemoryArray, Strings{});

  Strings s;
  MemoryDevice d{};
  d.array_handle = array_handle;
  d.error_information_handle = kNoErrorInformation;
  d.total_width = 64;
  d.data_width = 64;
  const uint64_t mib = total >> 20;
  if (mib < 0x7fff) {
    d.size = static_cast<uint16_t>(mib);
  } else {
    d.size = 0x7fff;
    d.extended_size = static_cast<uint32_t>(mib);
  }
  d.form_factor = 0x09;  // DIMM
  d.device_locator = s.add("DIMM 0");
  d.memory_type = 0x07;     // RAM
  d.type_detail = 1u << 1;  // other
  d.manufacturer = s.add(c.manufacturer);
  t.add(d, kTypeMemoryDevice, s);

  for (const auto& r : c.ram) {
    MemoryArrayMappedAddress m{};
    const uint64_t last = r.start + r.size - 1;
    if ((last >> 10) < 0xffffffff) {
      m.starting_address_kb = static_cast<uint32_t>(r.start >> 10);
      m.ending_address_kb = static_cast<uint32_t>(last >> 10);
    } else {
      m.starting_address_kb = 0xffffffff;
      m.ending_address_kb = 0xffffffff;
      m.extended_starting_address = r.start;
      m.extended_ending_address = last;
    }
    m.array_handle = array_handle;
    m.partition_width = 1;
    t.add(m, kTypeMemoryArrayMappedAddress, Strings{});
  }
}

Status validate_string(const char* what, const std::string& s) {
  if (s.size() > kMaxStringLength) {
    return Error(
        fmt::format("SMBIOS {} is {} bytes long (at most {})", what, s.size(), kMaxStringLength));
  }
  for (char ch : s) {
    if (ch < 0x20 || ch > 0x7e) {
      return Error(
          fmt::format("SMBIOS {} \"{}\" has a character that is not printable ASCII", what, s));
    }
  }
  return {};
}

}  // namespace

std::array<uint8_t, 16> smbios_uuid_bytes(const std::array<uint8_t, 16>& u) {
  return {u[3], u[2], u[1],  u[0],  u[5],  u[4],  u[7],  u[6],
          u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]};
}

Status validate(const SmbiosConfig& c) {
  TRY(validate_string("product name", c.product_name));
  TRY(validate_string("serial number", c.serial_number));
  TRY(validate_string("manufacturer", c.manufacturer));
  TRY(validate_string("version", c.version));
  TRY(validate_string("BIOS release date", c.bios_release_date));
  TRY(validate_string("CPU version", c.cpu_version));
  uint64_t cpus = uint64_t{c.sockets} * c.cores_per_socket * c.threads_per_core;
  if (c.sockets == 0 || c.cores_per_socket == 0 || c.threads_per_core == 0 || cpus > kMaxCpus) {
    return Error(fmt::format("SMBIOS: topology {} sockets x {} cores x {} threads (1-{} CPUs)",
                             c.sockets, c.cores_per_socket, c.threads_per_core, kMaxCpus));
  }
  if (c.ram.empty()) return Error("SMBIOS: no RAM ranges");
  uint64_t total = 0;
  for (const auto& r : c.ram) {
    auto sum = checked_add<uint64_t>(total, r.size);
    if (r.size == 0 || !checked_add<uint64_t>(r.start, r.size) || !sum) {
      return Error(fmt::format("SMBIOS: bad RAM range 0x{:x}+0x{:x}", r.start, r.size));
    }
    total = *sum;
  }
  return {};
}

Result<SmbiosTables> build_smbios_tables(const SmbiosConfig& config) {
  TRY(validate(config));
  TableBuilder t;
  add_bios(t, config);
  add_system(t, config);
  add_chassis(t, config);
  add_processors(t, config);
  add_memory(t, config);
  SystemBoot boot{};
  t.add(boot, kTypeSystemBoot, Strings{});
  t.add_end_of_table();

  SmbiosTables out;
  out.base = GuestAddress(kSmbiosStart);
  out.table = GuestAddress(kSmbiosStart + kEntryPointSize);
  out.table_length = static_cast<uint32_t>(t.bytes().size());
  out.structure_count = t.count();
  if (kEntryPointSize + t.bytes().size() > kSmbiosMaxSize) {
    return Error(fmt::format("SMBIOS tables need {} bytes, more than the {} reserved",
                             kEntryPointSize + t.bytes().size(), kSmbiosMaxSize));
  }

  EntryPoint64 ep{};
  std::memcpy(ep.anchor, "_SM3_", 5);
  ep.length = sizeof(EntryPoint64);
  ep.major = 3;
  ep.minor = 0;
  ep.docrev = 0;
  ep.revision = 1;
  ep.table_max_size = out.table_length;
  ep.table_address = out.table.value();
  out.bytes.resize(kEntryPointSize, 0);
  std::memcpy(out.bytes.data(), &ep, sizeof(ep));
  uint8_t sum = 0;
  for (size_t i = 0; i < sizeof(ep); ++i) sum = static_cast<uint8_t>(sum + out.bytes[i]);
  out.bytes[offsetof(EntryPoint64, checksum)] = static_cast<uint8_t>(-sum);
  out.bytes.insert(out.bytes.end(), t.bytes().begin(), t.bytes().end());
  return out;
}

Result<GuestAddress> write_smbios_tables(const GuestMemory& memory, const SmbiosConfig& config) {
  SmbiosTables tables = TRY(build_smbios_tables(config));
  if (auto s = memory.fill(tables.base, 0, kSmbiosMaxSize); !s) {
    return s.error().context("writing SMBIOS tables");
  }
  if (auto s = memory.write(tables.base, tables.bytes); !s) {
    return s.error().context("writing SMBIOS tables");
  }
  return tables.base;
}

}  // namespace vmkit::x86::smbios
