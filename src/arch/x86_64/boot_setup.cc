#include "arch/x86_64/boot_setup.h"

#include <array>
#include <vector>

#include <fmt/format.h>

#include "arch/x86_64/e820.h"
#include "arch/x86_64/layout.h"
#include "base/checked.h"

namespace vmkit::x86 {
namespace {

constexpr uint32_t kPvhMagic = 0x336ec578;

#pragma pack(push, 1)
struct HvmStartInfo {
  uint32_t magic;
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;
  uint32_t memmap_entries;
  uint32_t reserved;
};
struct HvmModlistEntry {
  uint64_t paddr;
  uint64_t size;
  uint64_t cmdline_paddr;
  uint64_t reserved;
};
struct HvmMemmapEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
  uint32_t reserved;
};
#pragma pack(pop)
static_assert(sizeof(HvmStartInfo) == 56);

Status write_cmdline(const GuestMemory& mem, const std::string& cmdline, uint64_t limit) {
  if (cmdline.size() + 1 > std::min(limit, kCmdlineMaxSize)) {
    return Error(fmt::format("kernel command line is {} bytes; this kernel accepts at most {}",
                             cmdline.size(), std::min(limit, kCmdlineMaxSize) - 1));
  }
  TRY(mem.write(GuestAddress(kCmdlineAddress),
                std::span(reinterpret_cast<const uint8_t*>(cmdline.c_str()),  // SAFETY: bytes
                          cmdline.size() + 1)));
  return {};
}

Status write_linux_zero_page(const GuestMemory& mem, const LoadedKernel& kernel,
                             const BootSetup& setup) {
  SetupHeader hdr = *kernel.header;
  TRY(write_cmdline(mem, setup.cmdline, hdr.cmdline_size ? hdr.cmdline_size + 1u : 256u));
  hdr.type_of_loader = 0xff;  // undefined boot loader
  hdr.loadflags = static_cast<uint8_t>(hdr.loadflags | kCanUseHeap);
  hdr.heap_end_ptr = 0xfe00;
  hdr.vid_mode = 0xffff;  // normal VGA mode, no prompting
  hdr.cmd_line_ptr = static_cast<uint32_t>(kCmdlineAddress);
  hdr.code32_start = static_cast<uint32_t>(kernel.load_address);
  if (setup.initrd) {
    hdr.ramdisk_image = static_cast<uint32_t>(setup.initrd->address);
    hdr.ramdisk_size = static_cast<uint32_t>(setup.initrd->size);
  }
  ZeroPage zp;
  zp.set_header(hdr);
  auto e820 = build_e820(setup.memory_size);
  if (!zp.set_e820(e820.data(), e820.size())) return Error("too many e820 entries");
  if (setup.rsdp_address) zp.set_acpi_rsdp(setup.rsdp_address);
  return mem.write(GuestAddress(kZeroPageAddress), zp.bytes());
}

Status write_pvh_start_info(const GuestMemory& mem, const BootSetup& setup) {
  TRY(write_cmdline(mem, setup.cmdline, kCmdlineMaxSize));
  // Layout after the start info: one module entry, then the memory map.
  uint64_t modlist = kPvhStartInfoAddress + sizeof(HvmStartInfo);
  uint64_t memmap = modlist + sizeof(HvmModlistEntry);
  HvmStartInfo info{};
  info.magic = kPvhMagic;
  info.version = 1;
  info.cmdline_paddr = kCmdlineAddress;
  info.rsdp_paddr = setup.rsdp_address;
  if (setup.initrd) {
    HvmModlistEntry module{setup.initrd->address, setup.initrd->size, 0, 0};
    TRY(mem.write_obj(GuestAddress(modlist), module));
    info.nr_modules = 1;
    info.modlist_paddr = modlist;
  }
  auto e820 = build_e820(setup.memory_size);
  for (size_t i = 0; i < e820.size(); ++i) {
    HvmMemmapEntry entry{e820[i].addr, e820[i].size, e820[i].type, 0};
    TRY(mem.write_obj(GuestAddress(memmap + i * sizeof(entry)), entry));
  }
  if (memmap + e820.size() * sizeof(HvmMemmapEntry) > kZeroPageAddress) {
    return Error("PVH memory map does not fit");
  }
  info.memmap_paddr = memmap;
  info.memmap_entries = static_cast<uint32_t>(e820.size());
  return mem.write_obj(GuestAddress(kPvhStartInfoAddress), info);
}

}  // namespace

Result<InitrdPlacement> place_initrd(const LoadedKernel& kernel, uint64_t initrd_size,
                                     uint64_t memory_size) {
  uint64_t limit = low_ram_end(memory_size);
  if (kernel.header && kernel.header->initrd_addr_max) {
    limit = std::min<uint64_t>(limit, uint64_t{kernel.header->initrd_addr_max} + 1);
  }
  uint64_t lowest = align_up(kernel.end, 4096);
  if (initrd_size > limit || align_down(limit - initrd_size, 4096) < lowest) {
    return Error(
        fmt::format("initrd of {} MiB does not fit in guest memory between the kernel "
                    "(ends at {} MiB) and {} MiB: give the guest more memory",
                    (initrd_size + (1 << 20) - 1) >> 20, lowest >> 20, limit >> 20));
  }
  return InitrdPlacement{align_down(limit - initrd_size, 4096), initrd_size};
}

uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit) {
  return ((uint64_t{base} & 0xff000000u) << 32) | ((uint64_t{flags} & 0x0000f0ffu) << 40) |
         ((uint64_t{limit} & 0x000f0000u) << 32) | ((uint64_t{base} & 0x00ffffffu) << 16) |
         (uint64_t{limit} & 0x0000ffffu);
}

Status write_gdt(const GuestMemory& mem, BootProtocol protocol) {
  // 0x10: code (64-bit, or flat 32-bit for PVH), 0x18: flat data, 0x20: TSS (KVM wants a TR).
  uint16_t code_flags = protocol == BootProtocol::kLinux64 ? 0xa09b : 0xc09b;
  std::array<uint64_t, 5> gdt = {0, 0, gdt_entry(code_flags, 0, 0xfffff),
                                 gdt_entry(0xc093, 0, 0xfffff), gdt_entry(0x808b, 0, 0xfffff)};
  TRY(mem.write_obj(GuestAddress(kGdtAddress), gdt));
  return mem.write_obj<uint64_t>(GuestAddress(kIdtAddress), 0);
}

Status write_identity_page_tables(const GuestMemory& mem) {
  constexpr uint64_t kPresentRw = 0x3;
  constexpr uint64_t kPageSize2M = 0x80;
  TRY(mem.write_obj<uint64_t>(GuestAddress(kPml4Address), kPdptAddress | kPresentRw));
  for (uint64_t i = 0; i < 4; ++i) {
    uint64_t pd = kPdAddress + i * 0x1000;
    TRY(mem.write_obj<uint64_t>(GuestAddress(kPdptAddress + i * 8), pd | kPresentRw));
    std::array<uint64_t, 512> entries{};
    for (uint64_t j = 0; j < 512; ++j) {
      entries[j] = ((i << 30) + (j << 21)) | kPresentRw | kPageSize2M;
    }
    TRY(mem.write_obj(GuestAddress(pd), entries));
  }
  return {};
}

Status write_boot_structures(const GuestMemory& mem, const LoadedKernel& kernel,
                             const BootSetup& setup) {
  TRY(write_gdt(mem, kernel.protocol));
  if (kernel.protocol == BootProtocol::kLinux64) {
    TRY(write_identity_page_tables(mem));
    return write_linux_zero_page(mem, kernel, setup);
  }
  return write_pvh_start_info(mem, setup);
}

}  // namespace vmkit::x86
