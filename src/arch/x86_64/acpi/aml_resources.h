// Resource descriptors for _CRS (ACPI 6.5 section 6.4): the ResourceTemplate items vmkit's DSDT
// uses. Each function returns one encoded descriptor; resource_template() wraps a list of them in
// a Buffer with the End Tag. Address-space descriptors (Word/DWord/QWord) are always PosDecode,
// MinFixed, MaxFixed with zero granularity and translation; they are ResourceProducer (a bridge's
// window onto its children) unless a memory range says ResourceConsumer (a motherboard
// reservation).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "arch/x86_64/acpi/aml.h"

namespace vmkit::x86::acpi::aml {

// IO (Decode16, min, max, alignment, length).
AmlBytes io(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length);
// FixedIO (base, length): 10-bit ISA addresses only (base <= 0x3ff).
AmlBytes fixed_io(uint16_t base, uint8_t length);
// IRQNoFlags () {irq}: an ISA IRQ (0-15), edge-triggered, active-high.
AmlBytes irq_no_flags(uint8_t irq);

enum class Trigger : uint8_t { kLevel, kEdge };
enum class Polarity : uint8_t { kActiveHigh, kActiveLow };
enum class Sharing : uint8_t { kExclusive, kShared };

// Interrupt (ResourceConsumer, trigger, polarity, sharing) {gsis...}: the extended interrupt
// descriptor, for GSIs above 15 or non-ISA trigger modes. 1-255 interrupts.
AmlBytes interrupt(Trigger trigger, Polarity polarity, Sharing sharing,
                   std::span<const uint32_t> gsis);

// WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, min, max, 0, max-min+1).
AmlBytes word_bus_number(uint16_t min, uint16_t max);
// WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, min, max, 0, len).
AmlBytes word_io(uint16_t min, uint16_t max);

enum class ResourceUsage : uint8_t { kProducer, kConsumer };

enum class Cacheability : uint8_t {
  kNonCacheable = 0,
  kCacheable = 1,
  kWriteCombining = 2,
  kPrefetchable = 3,
};

// DWordMemory / QWordMemory (usage, PosDecode, MinFixed, MaxFixed, cacheability, ReadWrite,
// 0, min, max, 0, max-min+1). min <= max; the length must not wrap.
AmlBytes dword_memory(Cacheability cacheability, uint32_t min, uint32_t max,
                      ResourceUsage usage = ResourceUsage::kProducer);
AmlBytes qword_memory(Cacheability cacheability, uint64_t min, uint64_t max,
                      ResourceUsage usage = ResourceUsage::kProducer);

// Buffer { descriptors..., EndTag }. The End Tag's checksum byte is 0, which ACPI 6.5 section
// 6.4.2.9 defines as "treat the checksum as valid". iasl emits 0 too, and ACPICA regenerates 0
// when it converts resources back to AML (its debugger flags any other value as a mismatch).
AmlBytes resource_template(const std::vector<AmlBytes>& descriptors);

}  // namespace vmkit::x86::acpi::aml
