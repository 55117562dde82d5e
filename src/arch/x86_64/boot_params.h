// The Linux x86 boot protocol's data: setup header, e820 entries and the zero page
// (Documentation/arch/x86/boot.rst, zero-page.rst). Offsets are checked with static_asserts.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vmkit::x86 {

#pragma pack(push, 1)
struct SetupHeader {
  uint8_t setup_sects;
  uint16_t root_flags;
  uint32_t syssize;
  uint16_t ram_size;
  uint16_t vid_mode;
  uint16_t root_dev;
  uint16_t boot_flag;
  uint16_t jump;
  uint32_t header;
  uint16_t version;
  uint32_t realmode_swtch;
  uint16_t start_sys_seg;
  uint16_t kernel_version;
  uint8_t type_of_loader;
  uint8_t loadflags;
  uint16_t setup_move_size;
  uint32_t code32_start;
  uint32_t ramdisk_image;
  uint32_t ramdisk_size;
  uint32_t bootsect_kludge;
  uint16_t heap_end_ptr;
  uint8_t ext_loader_ver;
  uint8_t ext_loader_type;
  uint32_t cmd_line_ptr;
  uint32_t initrd_addr_max;
  uint32_t kernel_alignment;
  uint8_t relocatable_kernel;
  uint8_t min_alignment;
  uint16_t xloadflags;
  uint32_t cmdline_size;
  uint32_t hardware_subarch;
  uint64_t hardware_subarch_data;
  uint32_t payload_offset;
  uint32_t payload_length;
  uint64_t setup_data;
  uint64_t pref_address;
  uint32_t init_size;
  uint32_t handover_offset;
  uint32_t kernel_info_offset;
};

struct E820Entry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
};
#pragma pack(pop)

inline constexpr size_t kSetupHeaderOffset = 0x1f1;
static_assert(offsetof(SetupHeader, header) == 0x202 - kSetupHeaderOffset);
static_assert(offsetof(SetupHeader, cmd_line_ptr) == 0x228 - kSetupHeaderOffset);
static_assert(offsetof(SetupHeader, pref_address) == 0x258 - kSetupHeaderOffset);
static_assert(sizeof(SetupHeader) == 0x26c - kSetupHeaderOffset);
static_assert(sizeof(E820Entry) == 20);

inline constexpr uint16_t kBootFlag = 0xaa55;
inline constexpr uint32_t kHdrSMagic = 0x53726448;  // "HdrS"
inline constexpr uint8_t kLoadedHigh = 0x01;
inline constexpr uint8_t kCanUseHeap = 0x80;
inline constexpr uint16_t kXlfKernel64 = 0x01;
inline constexpr uint16_t kXlfCanBeLoadedAbove4G = 0x02;

inline constexpr uint32_t kE820Ram = 1;
inline constexpr uint32_t kE820Reserved = 2;
inline constexpr uint32_t kE820Acpi = 3;

// The 4 KiB zero page, with typed access to the fields vmkit fills.
class ZeroPage {
 public:
  static constexpr size_t kAcpiRsdpAddr = 0x070;
  static constexpr size_t kE820Entries = 0x1e8;
  static constexpr size_t kE820Table = 0x2d0;
  static constexpr size_t kE820MaxEntries = 128;

  ZeroPage() { bytes_.fill(0); }

  SetupHeader header() const {
    SetupHeader h;
    std::memcpy(&h, bytes_.data() + kSetupHeaderOffset, sizeof(h));
    return h;
  }
  void set_header(const SetupHeader& h) {
    std::memcpy(bytes_.data() + kSetupHeaderOffset, &h, sizeof(h));
  }
  void set_acpi_rsdp(uint64_t addr) { std::memcpy(bytes_.data() + kAcpiRsdpAddr, &addr, 8); }
  // Returns false if there are more entries than the zero page holds.
  bool set_e820(const E820Entry* entries, size_t count) {
    if (count > kE820MaxEntries) return false;
    bytes_[kE820Entries] = static_cast<uint8_t>(count);
    std::memcpy(bytes_.data() + kE820Table, entries, count * sizeof(E820Entry));
    return true;
  }
  const std::array<uint8_t, 4096>& bytes() const { return bytes_; }

 private:
  std::array<uint8_t, 4096> bytes_;
};

}  // namespace vmkit::x86
