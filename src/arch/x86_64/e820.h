// The guest's RAM layout: which regions are RAM (for KVM slots) and the e820 map Linux reads.
#pragma once

#include <cstdint>
#include <vector>

#include "arch/x86_64/boot_params.h"
#include "memory/guest_memory.h"

namespace vmkit::x86 {

// RAM below the PCI hole (up to 3 GiB) and the rest from 4 GiB.
std::vector<GuestRegionSpec> ram_regions(uint64_t memory_size);

// The e820 map for a guest with `memory_size` bytes of RAM: low RAM minus the EBDA and the BIOS
// area (which hold vmkit's ACPI/SMBIOS tables, reserved), and high RAM above 4 GiB.
std::vector<E820Entry> build_e820(uint64_t memory_size);

// End of the RAM below 4 GiB (exclusive).
uint64_t low_ram_end(uint64_t memory_size);

}  // namespace vmkit::x86
