#include "arch/x86_64/kernel_loader.h"

#include <elf.h>

#include <fcntl.h>

#include <cstring>

#include <fmt/format.h>

#include "arch/x86_64/layout.h"
#include "base/checked.h"
#include "base/file.h"

namespace vmkit::x86 {
namespace {

constexpr uint32_t kXenElfNotePhys32Entry = 18;

// Reads a POD at `offset`; false when it does not fit in the file. An I/O error is an Error.
template <typename T>
Result<bool> read_at(const KernelImage& image, uint64_t offset, T* out) {
  if (!range_within(offset, sizeof(T), image.size())) return false;
  TRY(image.read(offset, std::span(reinterpret_cast<uint8_t*>(out), sizeof(T))));  // SAFETY: POD
  return true;
}

Result<bool> is_elf(const KernelImage& image) {
  unsigned char magic[SELFMAG];
  if (!TRY(read_at(image, 0, &magic))) return false;
  return std::memcmp(magic, ELFMAG, SELFMAG) == 0;
}

// Copies file bytes [offset, offset + len) to guest memory at `dest`, reading straight into it.
Status copy_to_guest(const GuestMemory& mem, const KernelImage& image, uint64_t offset,
                     uint64_t len, GuestAddress dest) {
  if (!range_within(offset, len, image.size())) return Error("kernel: copy outside the file");
  auto out = TRY(mem.span(dest, len));
  return image.read(offset, out);
}

Result<LoadedKernel> load_bzimage(const GuestMemory& mem, const KernelImage& image,
                                  uint64_t ram_end) {
  SetupHeader hdr = TRY(parse_setup_header(image));
  uint64_t setup_size = (uint64_t{hdr.setup_sects ? hdr.setup_sects : 4u} + 1) * 512;
  uint64_t payload_size = image.size() - setup_size;  // parse_setup_header checked setup_size
  uint64_t reserve = std::max<uint64_t>(hdr.init_size, payload_size);

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
  TRY(copy_to_guest(mem, image, setup_size, payload_size, GuestAddress(load)));
  LoadedKernel k;
  k.protocol = BootProtocol::kLinux64;
  k.load_address = load;
  k.entry = load + 0x200;
  k.end = load + reserve;
  k.header = hdr;
  return k;
}

Result<LoadedKernel> load_pvh_elf(const GuestMemory& mem, const KernelImage& image,
                                  uint64_t ram_end) {
  Elf64_Ehdr eh;
  if (!TRY(read_at(image, 0, &eh)) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_machine != EM_X86_64 || eh.e_phentsize != sizeof(Elf64_Phdr)) {
    return Error("kernel: not an x86-64 ELF64 image");
  }
  bool have_entry = false;
  uint64_t entry = 0;
  uint64_t lowest = UINT64_MAX, highest = 0;
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (!TRY(read_at(image, eh.e_phoff + uint64_t{i} * sizeof(Elf64_Phdr), &ph))) {
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
      TRY(copy_to_guest(mem, image, ph.p_offset, ph.p_filesz, GuestAddress(ph.p_paddr)));
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
        TRY(read_at(image, off, &nh));
        uint64_t name_off = off + sizeof(nh);
        uint64_t desc_off = name_off + align_up(nh.n_namesz, 4);
        uint64_t next = desc_off + align_up(nh.n_descsz, 4);
        if (next > end) break;
        char name[4] = {};
        if (nh.n_type == kXenElfNotePhys32Entry && nh.n_namesz == 4 &&
            TRY(read_at(image, name_off, &name)) && std::memcmp(name, "Xen", 4) == 0) {
          if (nh.n_descsz == 4) {
            uint32_t e32 = 0;
            have_entry = TRY(read_at(image, desc_off, &e32));
            entry = e32;
          } else if (nh.n_descsz == 8) {
            have_entry = TRY(read_at(image, desc_off, &entry));
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

Result<FileKernelImage> FileKernelImage::open(const std::string& path) {
  UniqueFd fd = TRY(open_file(path, O_RDONLY | O_CLOEXEC));
  uint64_t size = TRY(file_size(fd.get(), path));
  // The payload is read once, front to back: let the page cache read ahead aggressively.
  (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return FileKernelImage(std::move(fd), size, path);
}

Status FileKernelImage::read(uint64_t offset, std::span<uint8_t> out) const {
  return read_exact(fd_.get(), out, offset, path_);
}

Status SpanKernelImage::read(uint64_t offset, std::span<uint8_t> out) const {
  if (!range_within(offset, out.size(), bytes_.size())) {
    return Error("kernel: read outside the image");
  }
  std::memcpy(out.data(), bytes_.data() + offset, out.size());
  return {};
}

Result<SetupHeader> parse_setup_header(const KernelImage& image) {
  SetupHeader hdr;
  if (!TRY(read_at(image, kSetupHeaderOffset, &hdr))) {
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

Result<LoadedKernel> load_kernel(const GuestMemory& mem, const KernelImage& image,
                                 uint64_t ram_end) {
  if (TRY(is_elf(image))) return load_pvh_elf(mem, image, ram_end);
  return load_bzimage(mem, image, ram_end);
}

}  // namespace vmkit::x86
