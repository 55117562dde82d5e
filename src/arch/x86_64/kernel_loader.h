// Loads a guest kernel into guest memory: a bzImage through the Linux boot protocol's 64-bit
// entry, or an uncompressed ELF vmlinux through its PVH entry note.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "arch/x86_64/boot_params.h"
#include "base/result.h"
#include "memory/guest_memory.h"

namespace vmkit::x86 {

enum class BootProtocol {
  kLinux64,  // 64-bit entry at load + 0x200, rsi = zero page
  kPvh,      // 32-bit protected mode at the PVH entry, ebx = hvm_start_info
};

struct LoadedKernel {
  BootProtocol protocol = BootProtocol::kLinux64;
  uint64_t entry = 0;
  uint64_t load_address = 0;
  uint64_t end = 0;                   // first byte after the kernel's reserved area
  std::optional<SetupHeader> header;  // bzImage only
};

// Validates a bzImage's setup header (boot flag, "HdrS", protocol >= 2.12 with 64-bit entry,
// loaded-high, sizes consistent with the file) without touching guest memory.
Result<SetupHeader> parse_setup_header(std::span<const uint8_t> image);

// Picks the load address and copies the kernel. `ram_end` bounds RAM below the PCI hole.
Result<LoadedKernel> load_kernel(const GuestMemory& mem, std::span<const uint8_t> image,
                                 uint64_t ram_end);

}  // namespace vmkit::x86
