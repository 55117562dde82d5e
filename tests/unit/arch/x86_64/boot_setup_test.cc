#include "arch/x86_64/boot_setup.h"

#include <gtest/gtest.h>

#include "arch/x86_64/e820.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/vcpu_setup.h"

namespace vmkit::x86 {
namespace {

TEST(E820, SmallGuest) {
  auto map = build_e820(512ull << 20);
  ASSERT_EQ(map.size(), 4u);
  EXPECT_EQ(+map[0].addr, 0u);
  EXPECT_EQ(+map[0].size, kEbdaStart);
  EXPECT_EQ(+map[0].type, kE820Ram);
  EXPECT_EQ(+map[2].type, kE820Reserved);  // ACPI + BIOS area
  EXPECT_EQ(+map[3].addr, kHighMemoryStart);
  EXPECT_EQ(+map[3].addr + map[3].size, 512ull << 20);
  auto regions = ram_regions(512ull << 20);
  ASSERT_EQ(regions.size(), 1u);
}

TEST(E820, LargeGuestSplitsAroundPciHole) {
  uint64_t size = 6ull << 30;
  auto map = build_e820(size);
  ASSERT_EQ(map.size(), 5u);
  EXPECT_EQ(+map[3].addr + map[3].size, kLowRamMax);
  EXPECT_EQ(+map[4].addr, kFourGiB);
  EXPECT_EQ(+map[4].size, size - kLowRamMax);
  auto regions = ram_regions(size);
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_EQ(regions[1].start.value(), kFourGiB);
  uint64_t ram = 0;
  for (auto& e : map) {
    if (e.type == kE820Ram) ram += e.size;
  }
  EXPECT_EQ(ram, size - (kHighMemoryStart - kEbdaStart));
  EXPECT_EQ(pci_mmio64_start(kFourGiB + size - kLowRamMax), 7ull << 30);
  EXPECT_EQ(pci_mmio64_start((7ull << 30) + 1), 8ull << 30);
  EXPECT_EQ(pci_mmio64_start(1ull << 30), kFourGiB);
}

TEST(PageTables, IdentityMapsFourGiB) {
  auto mem = GuestMemory::create({{GuestAddress(0), 1 << 20}}).value();
  ASSERT_TRUE(write_identity_page_tables(mem).ok());
  EXPECT_EQ(mem.read_obj<uint64_t>(GuestAddress(kPml4Address)).value(), kPdptAddress | 3);
  for (uint64_t i = 0; i < 4; ++i) {
    uint64_t pdpte = mem.read_obj<uint64_t>(GuestAddress(kPdptAddress + i * 8)).value();
    EXPECT_EQ(pdpte, (kPdAddress + i * 0x1000) | 3);
  }
  // The PDE for 3 GiB + 2 MiB: PD 3, entry 1.
  uint64_t pde = mem.read_obj<uint64_t>(GuestAddress(kPdAddress + 3 * 0x1000 + 8)).value();
  EXPECT_EQ(pde, (3ull << 30) + (2ull << 20) + 0x83);
}

TEST(Gdt, EntriesEncodeFlatSegments) {
  EXPECT_EQ(gdt_entry(0xa09b, 0, 0xfffff), 0x00af9b000000ffffull);
  EXPECT_EQ(gdt_entry(0xc093, 0, 0xfffff), 0x00cf93000000ffffull);
  EXPECT_EQ(gdt_entry(0x808b, 0, 0xfffff), 0x008f8b000000ffffull);
}

TEST(BootRegisters, LongModeAndPvh) {
  LoadedKernel linux_kernel;
  linux_kernel.entry = 0x1000200;
  auto regs = boot_regs(linux_kernel);
  EXPECT_EQ(regs.rip, 0x1000200u);
  EXPECT_EQ(regs.rsi, kZeroPageAddress);
  auto sregs = boot_sregs(kvm_sregs{}, BootProtocol::kLinux64);
  EXPECT_EQ(sregs.cr3, kPml4Address);
  EXPECT_TRUE(sregs.cr0 & (1u << 31));
  EXPECT_EQ(sregs.efer & 0x500, 0x500u);
  EXPECT_EQ(sregs.cs.l, 1);
  EXPECT_EQ(sregs.cs.selector, kBootCodeSelector);

  LoadedKernel pvh;
  pvh.protocol = BootProtocol::kPvh;
  pvh.entry = 0x1000000;
  EXPECT_EQ(boot_regs(pvh).rbx, kPvhStartInfoAddress);
  auto s32 = boot_sregs(kvm_sregs{}, BootProtocol::kPvh);
  EXPECT_EQ(s32.cr0 & (1u << 31), 0u);
  EXPECT_EQ(s32.efer, 0u);
  EXPECT_EQ(s32.cs.db, 1);
  EXPECT_EQ(s32.cs.l, 0);
}

TEST(Initrd, PlacedHighBelowLimitAboveKernel) {
  LoadedKernel k;
  k.end = 0x2000000;
  SetupHeader h{};
  h.initrd_addr_max = 0x37ffffff;
  k.header = h;
  auto p = place_initrd(k, 10 << 20, 512ull << 20);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->address + p->size, 512ull << 20);
  EXPECT_EQ(p->address % 4096, 0u);
  auto big = place_initrd(k, 500 << 20, 512ull << 20);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message().find("does not fit"), std::string::npos);
  // initrd_addr_max caps the placement in large guests.
  auto capped = place_initrd(k, 1 << 20, 2ull << 30);
  ASSERT_TRUE(capped.ok());
  EXPECT_LE(capped->address + capped->size, 0x38000000u);
}

TEST(BootStructures, ZeroPageHasCmdlineInitrdE820AndRsdp) {
  auto mem = GuestMemory::create({{GuestAddress(0), 64 << 20}}).value();
  LoadedKernel k;
  SetupHeader h{};
  h.version = 0x020f;
  h.cmdline_size = 2047;
  k.header = h;
  k.load_address = 0x1000000;
  BootSetup setup;
  setup.cmdline = "console=ttyS0 quiet";
  setup.memory_size = 64 << 20;
  setup.initrd = InitrdPlacement{0x3000000, 0x1234};
  setup.rsdp_address = kAcpiStart;
  ASSERT_TRUE(write_boot_structures(mem, k, setup).ok());
  auto zp_hdr =
      mem.read_obj<SetupHeader>(GuestAddress(kZeroPageAddress + kSetupHeaderOffset)).value();
  EXPECT_EQ(+zp_hdr.cmd_line_ptr, kCmdlineAddress);
  EXPECT_EQ(+zp_hdr.ramdisk_image, 0x3000000u);
  EXPECT_EQ(+zp_hdr.ramdisk_size, 0x1234u);
  EXPECT_EQ(+zp_hdr.type_of_loader, 0xff);
  EXPECT_EQ(mem.read_obj<uint8_t>(GuestAddress(kZeroPageAddress + ZeroPage::kE820Entries)).value(),
            4);
  EXPECT_EQ(
      mem.read_obj<uint64_t>(GuestAddress(kZeroPageAddress + ZeroPage::kAcpiRsdpAddr)).value(),
      kAcpiStart);
  char cmdline[32] = {};
  ASSERT_TRUE(
      mem.read(GuestAddress(kCmdlineAddress), std::span(reinterpret_cast<uint8_t*>(cmdline), 20))
          .ok());
  EXPECT_STREQ(cmdline, "console=ttyS0 quiet");

  setup.cmdline = std::string(3000, 'x');  // longer than cmdline_size
  EXPECT_NE(write_boot_structures(mem, k, setup).error().message().find("command line"),
            std::string::npos);
}

}  // namespace
}  // namespace vmkit::x86
