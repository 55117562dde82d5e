#include "arch/x86_64/kernel_loader.h"

#include <elf.h>

#include <cstring>

#include <fmt/format.h>

#include "arch/x86_64/layout.h"
#include "base/checked.h"

namespace vmkit::x86 {
namespace {

constexpr uint32_t kXenElfNotePhys32Entry = 18;

bool is_elf(std::span<const uint8_t> image) {
  return image.size() >= SELFMAG && std::memcmp(image.data(), ELFMAG, SELFMAG) == 0;
}

template <typename T>
bool read_at(std::span<const uint8_t> image, uint64_t offset, T* out) {
  if (!range_within(offset, sizeof(T), image.size())) return false;
  std::memcpy(out, image.data() + offset, sizeof(T));
  return true;
}

Result<LoadedKernel> load_bzimage(const GuestMemory& mem, std::span<const uint8_t> image,
                                  uint64_t ram_end) {
  SetupHeader hdr = TRY(parse_setup_header(image));
  uint64_t setup_size = (uint64_t{hdr.setup_sects ? hdr.setup_sects : 4u} + 1) * 512;
  std::span<const uint8_t> payload = image.subspan(setup_size);
  uint64_t reserve = std::max<uint64_t>(hdr.init_size, payload.size());

  uint64_t load = kHighMemoryStart;
  if (hdr.relocatable_kernel) {
    uint64_t align = hdr.kernel_alignment ? hdr.kernel_alignment : 0x200000;
    if (!is_power_of_two(align)) return Error("kernel: invalid kernel_alignment in setup header");
    if (hdr.pref_address >= kHighMemoryStart && hdr.pref_address % align == 0 &&
        range_within(hdr.pref_address, reserve, ram_end)) {
      load = hdr.pref_address;
    } else {
      load = align_up(kHighMemoryStart, align);
    }
  }
  if (!range_within(load, reserve, ram_end)) {
    return Error(
        fmt::format("kernel needs {} MiB from {:#x} but guest RAM below 3 GiB ends at "
                    "{:#x}: give the guest more memory",
                    (reserve + (1 << 20) - 1) >> 20, load, ram_end));
  }
  TRY(mem.write(GuestAddress(load), payload));
  LoadedKernel k;
  k.protocol = BootProtocol::kLinux64;
  k.load_address = load;
  k.entry = load + 0x200;
  k.end = load + reserve;
  k.header = hdr;
  return k;
}

Result<LoadedKernel> load_pvh_elf(const GuestMemory& mem, std::span<const uint8_t> image,
                                  uint64_t ram_end) {
  Elf64_Ehdr eh;
  if (!read_at(image, 0, &eh) || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
      eh.e_phentsize != sizeof(Elf64_Phdr)) {
    return Error("kernel: not an x86-64 ELF64 image");
  }
  bool have_entry = false;
  uint64_t entry = 0;
  uint64_t lowest = UINT64_MAX, highest = 0;
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (!read_at(image, eh.e_phoff + uint64_t{i} * sizeof(Elf64_Phdr), &ph)) {
      return Error("kernel: ELF program header outside the file");
    }
    if (ph.p_type == PT_LOAD) {
      if (ph.p_filesz > ph.p_memsz || !range_within(ph.p_offset, ph.p_filesz, image.size())) {
        return Error("kernel: ELF segment outside the file");
      }
      if (ph.p_paddr < kHighMemoryStart || !range_within(ph.p_paddr, ph.p_memsz, ram_end)) {
        return Error(fmt::format("kernel: ELF segment at {:#x} size {:#x} is outside guest RAM",
                                 ph.p_paddr, ph.p_memsz));
      }
      TRY(mem.write(GuestAddress(ph.p_paddr), image.subspan(ph.p_offset, ph.p_filesz)));
      TRY(mem.fill(GuestAddress(ph.p_paddr + ph.p_filesz), 0, ph.p_memsz - ph.p_filesz));
      lowest = std::min(lowest, ph.p_paddr);
      highest = std::max(highest, ph.p_paddr + ph.p_memsz);
    } else if (ph.p_type == PT_NOTE) {
      if (!range_within(ph.p_offset, ph.p_filesz, image.size())) {
        return Error("kernel: ELF note outside the file");
      }
      uint64_t off = ph.p_offset, end = ph.p_offset + ph.p_filesz;
      while (off + sizeof(Elf64_Nhdr) <= end) {
        Elf64_Nhdr nh{};
        read_at(image, off, &nh);
        uint64_t name_off = off + sizeof(nh);
        uint64_t desc_off = name_off + align_up(nh.n_namesz, 4);
        uint64_t next = desc_off + align_up(nh.n_descsz, 4);
        if (next > end) break;
        if (nh.n_type == kXenElfNotePhys32Entry && nh.n_namesz == 4 &&
            std::memcmp(image.data() + name_off, "Xen", 4) == 0) {
          if (nh.n_descsz == 4) {
            uint32_t e32 = 0;
            have_entry = read_at(image, desc_off, &e32);
            entry = e32;
          } else if (nh.n_descsz == 8) {
            have_entry = read_at(image, desc_off, &entry);
          }
        }
        off = next;
      }
    }
  }
  if (!have_entry) {
    return Error(
        "kernel: ELF image has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); build "
        "with CONFIG_PVH=y or use a bzImage");
  }
  if (highest == 0) return Error("kernel: ELF image has no loadable segments");
  if (entry < lowest || entry >= highest) {
    return Error(fmt::format("kernel: PVH entry {:#x} is outside the loaded kernel [{:#x}, {:#x})",
                             entry, lowest, highest));
  }
  LoadedKernel k;
  k.protocol = BootProtocol::kPvh;
  k.entry = entry;
  k.load_address = lowest;
  k.end = highest;
  return k;
}

}  // namespace

Result<SetupHeader> parse_setup_header(std::span<const uint8_t> image) {
  SetupHeader hdr;
  if (!read_at(image, kSetupHeaderOffset, &hdr)) {
    return Error(fmt::format("kernel: not a bzImage (the file is only {} bytes)", image.size()));
  }
  if (hdr.boot_flag != kBootFlag || hdr.header != kHdrSMagic) {
    return Error("kernel: not a bzImage (no boot flag 0xAA55 / \"HdrS\" signature)");
  }
  if (hdr.version < 0x020c || !(hdr.xloadflags & kXlfKernel64)) {
    return Error(
        fmt::format("kernel: boot protocol {}.{} has no 64-bit entry (need 2.12+ "
                    "with XLF_KERNEL_64)",
                    hdr.version >> 8, hdr.version & 0xff));
  }
  if (!(hdr.loadflags & kLoadedHigh)) return Error("kernel: zImage (not loaded high) unsupported");
  uint64_t setup_size = (uint64_t{hdr.setup_sects ? hdr.setup_sects : 4u} + 1) * 512;
  uint64_t payload = uint64_t{hdr.syssize} * 16;
  if (!range_within(setup_size, payload, image.size()) || payload == 0) {
    return Error(fmt::format("kernel: truncated bzImage: {} bytes, the header says {}",
                             image.size(), setup_size + payload));
  }
  return hdr;
}

Result<LoadedKernel> load_kernel(const GuestMemory& mem, std::span<const uint8_t> image,
                                 uint64_t ram_end) {
  if (is_elf(image)) return load_pvh_elf(mem, image, ram_end);
  return load_bzimage(mem, image, ram_end);
}

}  // namespace vmkit::x86
