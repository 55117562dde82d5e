#include "arch/x86_64/acpi/aml_resources.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace vmkit::x86::acpi::aml {
namespace {

// Small item tags (bits 6:3 name, bits 2:0 length) and large item names.
constexpr uint8_t kIrqNoFlagsTag = 0x22;  // IRQ, 2 bytes
constexpr uint8_t kIoTag = 0x47;          // I/O port, 7 bytes
constexpr uint8_t kFixedIoTag = 0x4b;     // fixed I/O port, 3 bytes
constexpr uint8_t kEndTag = 0x79;         // end tag, 1 byte
constexpr uint8_t kDWordAddressTag = 0x87;
constexpr uint8_t kWordAddressTag = 0x88;
constexpr uint8_t kExtendedInterruptTag = 0x89;
constexpr uint8_t kQWordAddressTag = 0x8a;

// Address space descriptor resource types and flags.
constexpr uint8_t kMemoryRange = 0;
constexpr uint8_t kIoRange = 1;
constexpr uint8_t kBusNumberRange = 2;
constexpr uint8_t kConsumer = 1 << 0;
constexpr uint8_t kMinFixed = 1 << 2;
constexpr uint8_t kMaxFixed = 1 << 3;
constexpr uint8_t kIoEntireRange = 3;
constexpr uint8_t kMemoryReadWrite = 1;

[[noreturn]] void bug(const std::string& what) {
  std::fprintf(stderr, "vmkit: bug: AML resource builder: %s\n", what.c_str());
  std::abort();
}

void append_le(AmlBytes& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// A Word/DWord/QWord address space descriptor: tag, length, type, general flags, type flags,
// then granularity, min, max, translation offset and length, each `width` bytes.
AmlBytes address_space(uint8_t tag, int width, uint8_t type, uint8_t type_flags, uint64_t min,
                       uint64_t max, ResourceUsage usage = ResourceUsage::kProducer) {
  if (min > max) bug("address range min 0x" + std::to_string(min) + " > max");
  uint64_t len = max - min + 1;
  if (len == 0 || (width < 8 && len >> (8 * width) != 0)) bug("address range length overflows");
  AmlBytes out{tag};
  append_le(out, static_cast<uint64_t>(3 + 5 * width), 2);
  out.push_back(type);
  uint8_t general_flags = kMinFixed | kMaxFixed;  // PosDecode
  if (usage == ResourceUsage::kConsumer) general_flags |= kConsumer;
  out.push_back(general_flags);
  out.push_back(type_flags);
  append_le(out, 0, width);  // granularity
  append_le(out, min, width);
  append_le(out, max, width);
  append_le(out, 0, width);  // translation offset
  append_le(out, len, width);
  return out;
}

}  // namespace

AmlBytes io(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length) {
  AmlBytes out{kIoTag, 0x01};  // Decode16
  append_le(out, min, 2);
  append_le(out, max, 2);
  out.push_back(alignment);
  out.push_back(length);
  return out;
}

AmlBytes fixed_io(uint16_t base, uint8_t length) {
  if (base > 0x3ff) bug("FixedIO base 0x" + std::to_string(base) + " is not a 10-bit address");
  AmlBytes out{kFixedIoTag};
  append_le(out, base, 2);
  out.push_back(length);
  return out;
}

AmlBytes irq_no_flags(uint8_t irq) {
  if (irq > 15) bug("IRQNoFlags with IRQ " + std::to_string(irq));
  AmlBytes out{kIrqNoFlagsTag};
  append_le(out, 1u << irq, 2);
  return out;
}

AmlBytes interrupt(Trigger trigger, Polarity polarity, Sharing sharing,
                   std::span<const uint32_t> gsis) {
  if (gsis.empty() || gsis.size() > 255) bug("Interrupt with " + std::to_string(gsis.size()));
  AmlBytes out{kExtendedInterruptTag};
  append_le(out, 2 + 4 * gsis.size(), 2);
  uint8_t flags = 0x01;  // ResourceConsumer
  if (trigger == Trigger::kEdge) flags |= 0x02;
  if (polarity == Polarity::kActiveLow) flags |= 0x04;
  if (sharing == Sharing::kShared) flags |= 0x08;
  out.push_back(flags);
  out.push_back(static_cast<uint8_t>(gsis.size()));
  for (uint32_t gsi : gsis) append_le(out, gsi, 4);
  return out;
}

AmlBytes word_bus_number(uint16_t min, uint16_t max) {
  return address_space(kWordAddressTag, 2, kBusNumberRange, 0, min, max);
}

AmlBytes word_io(uint16_t min, uint16_t max) {
  return address_space(kWordAddressTag, 2, kIoRange, kIoEntireRange, min, max);
}

AmlBytes dword_memory(Cacheability cacheability, uint32_t min, uint32_t max, ResourceUsage usage) {
  auto flags = static_cast<uint8_t>(kMemoryReadWrite | static_cast<uint8_t>(cacheability) << 1);
  return address_space(kDWordAddressTag, 4, kMemoryRange, flags, min, max, usage);
}

AmlBytes qword_memory(Cacheability cacheability, uint64_t min, uint64_t max, ResourceUsage usage) {
  auto flags = static_cast<uint8_t>(kMemoryReadWrite | static_cast<uint8_t>(cacheability) << 1);
  return address_space(kQWordAddressTag, 8, kMemoryRange, flags, min, max, usage);
}

AmlBytes resource_template(const std::vector<AmlBytes>& descriptors) {
  AmlBytes bytes = concat(descriptors);
  bytes.push_back(kEndTag);
  bytes.push_back(0);  // checksum 0: "treat as valid"
  return buffer(bytes);
}

}  // namespace vmkit::x86::acpi::aml
