// The guest-physical memory map and fixed platform addresses vmkit's x86-64 machine uses.
//
//   0x0000_0000  real-mode IVT / BDA (RAM)
//   0x0000_0500  GDT, then IDT
//   0x0000_7000  boot_params (the "zero page")
//   0x0000_8ff0  initial stack (grows down)
//   0x0000_9000  identity page tables: PML4, PDPT, 4 PDs (first 4 GiB, 2 MiB pages)
//   0x0002_0000  kernel command line (up to 64 KiB)
//   0x0009_fc00  EBDA (reserved in e820)
//   0x000e_0000  ACPI tables, RSDP first (reserved in e820) up to 0x000f_0000
//   0x000f_0000  SMBIOS / MP tables (reserved)
//   0x0010_0000  kernel (or pref_address), initrd at the top of low RAM
//   RAM up to min(size, 3 GiB); the rest of RAM from 4 GiB up
//   0xc000_0000  32-bit PCI MMIO window (512 MiB)
//   0xe000_0000  PCIe ECAM (reserved, 256 MiB)
//   0xfec0_0000  IOAPIC;  0xfee0_0000  LAPIC
//   above RAM, 1 GiB-aligned: 64-bit PCI MMIO window (64 GiB)
#pragma once

#include <cstdint>

namespace vmkit::x86 {

inline constexpr uint64_t kGdtAddress = 0x500;
inline constexpr uint64_t kIdtAddress = 0x520;
inline constexpr uint64_t kPvhStartInfoAddress = 0x6000;
inline constexpr uint64_t kZeroPageAddress = 0x7000;
inline constexpr uint64_t kBootStackPointer = 0x8ff0;
inline constexpr uint64_t kPml4Address = 0x9000;
inline constexpr uint64_t kPdptAddress = 0xa000;
inline constexpr uint64_t kPdAddress = 0xb000;  // 4 pages: 0xb000-0xefff
inline constexpr uint64_t kCmdlineAddress = 0x20000;
inline constexpr uint64_t kCmdlineMaxSize = 0x10000;
inline constexpr uint64_t kEbdaStart = 0x9fc00;
inline constexpr uint64_t kAcpiStart = 0xe0000;
inline constexpr uint64_t kAcpiMaxSize = 0x10000;
inline constexpr uint64_t kSmbiosStart = 0xf0000;
inline constexpr uint64_t kBiosEnd = 0x100000;
inline constexpr uint64_t kHighMemoryStart = 0x100000;

inline constexpr uint64_t kLowRamMax = 0xc0000000;  // RAM below the PCI hole: 3 GiB
inline constexpr uint64_t kPciMmio32Start = 0xc0000000;
inline constexpr uint64_t kPciMmio32Size = 0x20000000;
inline constexpr uint64_t kPciEcamStart = 0xe0000000;
inline constexpr uint64_t kPciEcamSize = 0x10000000;
inline constexpr uint64_t kIoapicAddress = 0xfec00000;
inline constexpr uint64_t kLapicAddress = 0xfee00000;
inline constexpr uint64_t kFourGiB = 0x100000000;
inline constexpr uint64_t kPciMmio64Size = 64ULL << 30;

// KVM needs three pages for the VMX TSS and one for the identity map, below 4 GiB and outside
// RAM and MMIO windows.
inline constexpr uint64_t kKvmTssAddress = 0xfffbd000;
inline constexpr uint64_t kKvmIdentityMapAddress = 0xfffbc000;

// Legacy I/O ports.
inline constexpr uint16_t kCom1Port = 0x3f8;
inline constexpr uint32_t kCom1Irq = 4;
inline constexpr uint16_t kRtcPort = 0x70;  // index 0x70, data 0x71
inline constexpr uint32_t kRtcIrq = 8;
inline constexpr uint16_t kI8042DataPort = 0x60;
inline constexpr uint16_t kI8042CommandPort = 0x64;
inline constexpr uint16_t kPostCodePort = 0x80;
inline constexpr uint16_t kPciConfigAddressPort = 0xcf8;  // 0xcf8-0xcff

// ACPI fixed hardware (PM1a event block: status + enable; PM1a control block).
inline constexpr uint16_t kAcpiPm1aEventPort = 0x600;    // 4 bytes
inline constexpr uint16_t kAcpiPm1aControlPort = 0x604;  // 2 bytes
inline constexpr uint32_t kAcpiSciIrq = 9;
inline constexpr uint8_t kAcpiS5SleepType = 5;  // SLP_TYP value for S5 in \_S5 and PM1_CNT

// The 64-bit PCI window starts at the first 1 GiB boundary above RAM.
inline constexpr uint64_t pci_mmio64_start(uint64_t ram_end) {
  constexpr uint64_t kGiB = 1ULL << 30;
  uint64_t start = (ram_end + kGiB - 1) & ~(kGiB - 1);
  return start < kFourGiB ? kFourGiB : start;
}

}  // namespace vmkit::x86
