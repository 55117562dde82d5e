// SMBIOS 3.0 structures (DMTF DSP0134 3.0.0) as vmkit writes them: the 64-bit entry point and the
// formatted areas of the structure types it emits. Each structure is followed in the table by its
// string set (strings referenced by 1-based index, then an extra NUL).
#pragma once

#include <cstdint>

namespace vmkit::x86::smbios {

struct [[gnu::packed]] EntryPoint64 {
  char anchor[5];    // "_SM3_"
  uint8_t checksum;  // over the entry point's `length` bytes
  uint8_t length;    // 0x18
  uint8_t major;     // 3
  uint8_t minor;     // 0
  uint8_t docrev;    // 0
  uint8_t revision;  // 1: entry point revision 3.0
  uint8_t reserved;
  uint32_t table_max_size;
  uint64_t table_address;
};
static_assert(sizeof(EntryPoint64) == 0x18);

struct [[gnu::packed]] Header {
  uint8_t type;
  uint8_t length;  // of the formatted area, header included
  uint16_t handle;
};
static_assert(sizeof(Header) == 4);

// Type 0: BIOS Information.
struct [[gnu::packed]] BiosInfo {
  Header header;
  uint8_t vendor;
  uint8_t version;
  uint16_t start_segment;
  uint8_t release_date;
  uint8_t rom_size;
  uint64_t characteristics;
  uint8_t characteristics_ext1;
  uint8_t characteristics_ext2;
  uint8_t major_release;
  uint8_t minor_release;
  uint8_t ec_major_release;
  uint8_t ec_minor_release;
};
static_assert(sizeof(BiosInfo) == 0x18);

// Type 1: System Information.
struct [[gnu::packed]] SystemInfo {
  Header header;
  uint8_t manufacturer;
  uint8_t product_name;
  uint8_t version;
  uint8_t serial_number;
  uint8_t uuid[16];  // time_low, time_mid, time_hi_and_version little-endian, the rest as is
  uint8_t wake_up_type;
  uint8_t sku_number;
  uint8_t family;
};
static_assert(sizeof(SystemInfo) == 0x1b);

// Type 3: System Enclosure or Chassis (no contained elements).
struct [[gnu::packed]] Chassis {
  Header header;
  uint8_t manufacturer;
  uint8_t type;
  uint8_t version;
  uint8_t serial_number;
  uint8_t asset_tag;
  uint8_t boot_up_state;
  uint8_t power_supply_state;
  uint8_t thermal_state;
  uint8_t security_status;
  uint32_t oem_defined;
  uint8_t height;
  uint8_t power_cords;
  uint8_t contained_element_count;
  uint8_t contained_element_length;
  uint8_t sku_number;
};
static_assert(sizeof(Chassis) == 0x16);

// Type 4: Processor Information.
struct [[gnu::packed]] Processor {
  Header header;
  uint8_t socket_designation;
  uint8_t processor_type;
  uint8_t family;
  uint8_t manufacturer;
  uint32_t id_eax;  // CPUID leaf 1 EAX (signature)
  uint32_t id_edx;  // CPUID leaf 1 EDX (feature flags)
  uint8_t version;
  uint8_t voltage;
  uint16_t external_clock;
  uint16_t max_speed;
  uint16_t current_speed;
  uint8_t status;
  uint8_t upgrade;
  uint16_t l1_cache_handle;
  uint16_t l2_cache_handle;
  uint16_t l3_cache_handle;
  uint8_t serial_number;
  uint8_t asset_tag;
  uint8_t part_number;
  uint8_t core_count;
  uint8_t core_enabled;
  uint8_t thread_count;
  uint16_t characteristics;
  uint16_t family2;
  uint16_t core_count2;
  uint16_t core_enabled2;
  uint16_t thread_count2;
};
static_assert(sizeof(Processor) == 0x30);

// Type 16: Physical Memory Array.
struct [[gnu::packed]] MemoryArray {
  Header header;
  uint8_t location;
  uint8_t use;
  uint8_t error_correction;
  uint32_t maximum_capacity_kb;  // 0x8000_0000: see extended_maximum_capacity
  uint16_t error_information_handle;
  uint16_t number_of_devices;
  uint64_t extended_maximum_capacity;  // bytes
};
static_assert(sizeof(MemoryArray) == 0x17);

// Type 17: Memory Device.
struct [[gnu::packed]] MemoryDevice {
  Header header;
  uint16_t array_handle;
  uint16_t error_information_handle;
  uint16_t total_width;
  uint16_t data_width;
  uint16_t size;  // MiB, bit 15 clear; 0x7fff: see extended_size
  uint8_t form_factor;
  uint8_t device_set;
  uint8_t device_locator;
  uint8_t bank_locator;
  uint8_t memory_type;
  uint16_t type_detail;
  uint16_t speed;
  uint8_t manufacturer;
  uint8_t serial_number;
  uint8_t asset_tag;
  uint8_t part_number;
  uint8_t attributes;
  uint32_t extended_size;  // MiB
  uint16_t configured_speed;
  uint16_t minimum_voltage;
  uint16_t maximum_voltage;
  uint16_t configured_voltage;
};
static_assert(sizeof(MemoryDevice) == 0x28);

// Type 19: Memory Array Mapped Address.
struct [[gnu::packed]] MemoryArrayMappedAddress {
  Header header;
  uint32_t starting_address_kb;  // 0xffff_ffff: see the extended addresses
  uint32_t ending_address_kb;    // inclusive
  uint16_t array_handle;
  uint8_t partition_width;
  uint64_t extended_starting_address;  // bytes
  uint64_t extended_ending_address;    // bytes, inclusive
};
static_assert(sizeof(MemoryArrayMappedAddress) == 0x1f);

// Type 32: System Boot Information.
struct [[gnu::packed]] SystemBoot {
  Header header;
  uint8_t reserved[6];
  uint8_t boot_status;  // 0: no errors detected
};
static_assert(sizeof(SystemBoot) == 0x0b);

inline constexpr uint8_t kTypeBios = 0;
inline constexpr uint8_t kTypeSystem = 1;
inline constexpr uint8_t kTypeChassis = 3;
inline constexpr uint8_t kTypeProcessor = 4;
inline constexpr uint8_t kTypeMemoryArray = 16;
inline constexpr uint8_t kTypeMemoryDevice = 17;
inline constexpr uint8_t kTypeMemoryArrayMappedAddress = 19;
inline constexpr uint8_t kTypeSystemBoot = 32;
inline constexpr uint8_t kTypeEndOfTable = 127;

}  // namespace vmkit::x86::smbios
