#include "arch/x86_64/acpi/sdt.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace vmkit::x86::acpi {

GenericAddress io_address(uint16_t port, uint8_t bytes, uint8_t access_size) {
  GenericAddress gas{};
  gas.space_id = kAddressSpaceSystemIo;
  gas.bit_width = static_cast<uint8_t>(bytes * 8);
  gas.bit_offset = 0;
  gas.access_size = access_size;
  gas.address = port;
  return gas;
}

uint8_t checksum(std::span<const uint8_t> bytes) {
  uint8_t sum = 0;
  for (uint8_t b : bytes) sum = static_cast<uint8_t>(sum + b);
  return static_cast<uint8_t>(-sum);
}

bool checksum_ok(std::span<const uint8_t> bytes) {
  return checksum(bytes) == 0;
}

void copy_id(char* field, size_t size, std::string_view value, char pad) {
  for (size_t i = 0; i < size; ++i) field[i] = i < value.size() ? value[i] : pad;
}

std::vector<uint8_t> make_table(std::string_view signature, uint8_t revision,
                                std::span<const uint8_t> body) {
  if (signature.size() != 4) {
    std::fprintf(stderr, "vmkit: bug: ACPI signature \"%.*s\"\n",
                 static_cast<int>(signature.size()), signature.data());
    std::abort();
  }
  SdtHeader h{};
  copy_id(h.signature, sizeof(h.signature), signature, ' ');
  h.length = static_cast<uint32_t>(sizeof(SdtHeader) + body.size());
  h.revision = revision;
  copy_id(h.oem_id, sizeof(h.oem_id), kOemId, ' ');
  std::string table_id = std::string(kOemId) + std::string(signature.substr(0, 3));
  copy_id(h.oem_table_id, sizeof(h.oem_table_id), table_id, ' ');
  h.oem_revision = kOemRevision;
  copy_id(h.creator_id, sizeof(h.creator_id), kCreatorId, ' ');
  h.creator_revision = kCreatorRevision;

  std::vector<uint8_t> table;
  table.reserve(h.length);
  append_obj(table, h);
  table.insert(table.end(), body.begin(), body.end());
  table[offsetof(SdtHeader, checksum)] = checksum(table);
  return table;
}

}  // namespace vmkit::x86::acpi
