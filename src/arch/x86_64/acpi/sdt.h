// The common pieces of ACPI system description tables: the 36-byte header every table but the
// RSDP and FACS starts with, the Generic Address Structure, the checksum, and a helper that
// puts a header with vmkit's OEM ids, the right length and checksum in front of a body.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace vmkit::x86::acpi {

static_assert(std::endian::native == std::endian::little, "ACPI tables are little-endian");

inline constexpr std::string_view kOemId = "VMKIT";  // padded with spaces to 6 bytes
inline constexpr std::string_view kCreatorId = "VMKT";
inline constexpr uint32_t kOemRevision = 1;
inline constexpr uint32_t kCreatorRevision = 1;

struct [[gnu::packed]] SdtHeader {
  char signature[4];
  uint32_t length;
  uint8_t revision;
  uint8_t checksum;
  char oem_id[6];
  char oem_table_id[8];
  uint32_t oem_revision;
  char creator_id[4];
  uint32_t creator_revision;
};
static_assert(sizeof(SdtHeader) == 36);

// Generic Address Structure (ACPI 6.5 section 5.2.3.2).
struct [[gnu::packed]] GenericAddress {
  uint8_t space_id;
  uint8_t bit_width;
  uint8_t bit_offset;
  uint8_t access_size;  // 0 undefined, 1 byte, 2 word, 3 dword, 4 qword
  uint64_t address;
};
static_assert(sizeof(GenericAddress) == 12);

inline constexpr uint8_t kAddressSpaceSystemMemory = 0;
inline constexpr uint8_t kAddressSpaceSystemIo = 1;

// A SystemIO register block of `bytes` bytes at `port`, accessed `access_size` at a time.
GenericAddress io_address(uint16_t port, uint8_t bytes, uint8_t access_size);

// The byte that makes `bytes` (with that byte included) sum to zero modulo 256.
uint8_t checksum(std::span<const uint8_t> bytes);
// True when `bytes` sum to zero modulo 256.
bool checksum_ok(std::span<const uint8_t> bytes);

// Copies `value` into a fixed-size field, padding with `pad` (ACPI ids are not NUL-terminated).
void copy_id(char* field, size_t size, std::string_view value, char pad);

// Header (signature, revision, OEM ids "VMKIT"/"VMKIT"+first three letters of the signature,
// length, checksum) followed by `body`.
std::vector<uint8_t> make_table(std::string_view signature, uint8_t revision,
                                std::span<const uint8_t> body);

// Appends the bytes of a trivially copyable (packed) object.
template <typename T>
void append_obj(std::vector<uint8_t>& out, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &value, sizeof(T));
}

// Reads a trivially copyable object from bytes (the caller checks the size).
template <typename T>
T read_obj(std::span<const uint8_t> bytes, size_t offset = 0) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

}  // namespace vmkit::x86::acpi
