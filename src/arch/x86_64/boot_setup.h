// Everything a directly-booted kernel expects in memory before its first instruction: the
// command line, the initrd, the zero page (or PVH start info) with the e820 map, identity page
// tables and a GDT.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "arch/x86_64/kernel_loader.h"
#include "base/result.h"
#include "memory/guest_memory.h"

namespace vmkit::x86 {

struct InitrdPlacement {
  uint64_t address = 0;
  uint64_t size = 0;
};

// Chooses where the initrd goes: page-aligned, as high as allowed below min(initrd_addr_max,
// RAM end below 4 GiB), above the kernel. Errors say how much memory would be needed.
Result<InitrdPlacement> place_initrd(const LoadedKernel& kernel, uint64_t initrd_size,
                                     uint64_t memory_size);

struct BootSetup {
  std::string cmdline;
  std::optional<InitrdPlacement> initrd;  // already copied into guest memory
  uint64_t memory_size = 0;
  uint64_t rsdp_address = 0;  // 0: none
};

// Writes the zero page (Linux64) or hvm_start_info (PVH), the command line, page tables and GDT.
Status write_boot_structures(const GuestMemory& mem, const LoadedKernel& kernel,
                             const BootSetup& setup);

// Identity-maps the first 4 GiB with 2 MiB pages at kPml4Address.
Status write_identity_page_tables(const GuestMemory& mem);

// GDT entries as vmkit installs them; the selectors index this table.
inline constexpr uint16_t kBootCodeSelector = 0x10;
inline constexpr uint16_t kBootDataSelector = 0x18;
inline constexpr uint16_t kBootTssSelector = 0x20;
uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);
Status write_gdt(const GuestMemory& mem, BootProtocol protocol);

}  // namespace vmkit::x86
