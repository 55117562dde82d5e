#include "pci/pci_root.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "pci/pci_config_io.h"
#include "pci/testing/fake_platform.h"

namespace vmkit {
namespace {

constexpr PciWindows kWindows{{0xc0000000, 0x20000000}, {0x1000000000, 0x100000000}};

// A device with a 32-bit BAR0 (4 KiB) and a 64-bit BAR2 (16 KiB) that records BAR traffic.
class TestDevice final : public PciDevice {
 public:
  TestDevice() : PciDevice(PciIds{.vendor = 0x1234, .device = 0x5678, .class_code = 0xff0000}) {
    EXPECT_TRUE(add_bar(0, {0x1000, BarType::kMemory32}).ok());
    EXPECT_TRUE(add_bar(2, {0x4000, BarType::kMemory64}).ok());
  }
  void bar_read(unsigned index, uint64_t offset, std::span<uint8_t> data) override {
    reads.emplace_back(index, offset);
    std::memset(data.data(), 0x5a, data.size());
  }
  void bar_write(unsigned index, uint64_t offset, std::span<const uint8_t>) override {
    writes.emplace_back(index, offset);
  }
  void bar_mapped(unsigned index, uint64_t address) override {
    events.push_back("map " + std::to_string(index) + " " + std::to_string(address));
  }
  void bar_unmapped(unsigned index, uint64_t address) override {
    events.push_back("unmap " + std::to_string(index) + " " + std::to_string(address));
  }
  void raise(bool level) { set_intx(level); }

  std::vector<std::pair<unsigned, uint64_t>> reads, writes;
  std::vector<std::string> events;
};

// Drives configuration space through ports 0xCF8/0xCFC like Linux's pci_conf1 accessors.
class Conf1 {
 public:
  explicit Conf1(PciConfigIo& io) : io_(io) {}
  void select(uint8_t slot, uint16_t reg) {
    uint32_t address = 0x80000000u | (uint32_t{slot} << 11) | (reg & 0xfcu);
    io_.write(0, std::span(reinterpret_cast<const uint8_t*>(&address), 4));
  }
  uint32_t read(uint8_t slot, uint16_t reg, size_t len = 4) {
    select(slot, reg);
    uint8_t buf[4] = {};
    io_.read(4 + (reg & 3u), std::span(buf, len));
    uint32_t v = 0;
    std::memcpy(&v, buf, len);
    return v;
  }
  void write(uint8_t slot, uint16_t reg, uint32_t value, size_t len = 4) {
    select(slot, reg);
    io_.write(4 + (reg & 3u), std::span(reinterpret_cast<const uint8_t*>(&value), len));
  }

 private:
  PciConfigIo& io_;
};

struct Fixture {
  Bus mmio{"mmio"};
  PciRoot root{mmio, kWindows};
  PciConfigIo io{root};
  Conf1 conf{io};
};

TEST(PciRoot, HostBridgeEnumerates) {
  Fixture f;
  EXPECT_EQ(f.conf.read(0, 0), 0x00081b36u);
  EXPECT_EQ(f.conf.read(0, 0x0a, 2), 0x0600u);  // PCI_CLASS_BRIDGE_HOST
  EXPECT_EQ(f.conf.read(0, 0x0e, 1), 0u);       // header type 0
  EXPECT_EQ(f.conf.read(5, 0), 0xffffffffu);    // empty slot
}

TEST(PciRoot, LinuxType1Probe) {
  Fixture f;
  uint8_t b = 1;
  f.io.write(3, std::span(&b, 1));  // outb(0x01, 0xCFB): ignored
  uint32_t v = 0x80000000;
  f.io.write(0, std::span(reinterpret_cast<uint8_t*>(&v), 4));
  uint32_t back = 0;
  f.io.read(0, std::span(reinterpret_cast<uint8_t*>(&back), 4));
  EXPECT_EQ(back, 0x80000000u);
}

TEST(PciRoot, DisabledAddressAndOtherBusesReadAllOnes) {
  Fixture f;
  uint32_t address = 0x00000000;  // enable bit clear
  f.io.write(0, std::span(reinterpret_cast<uint8_t*>(&address), 4));
  uint32_t v = 0;
  f.io.read(4, std::span(reinterpret_cast<uint8_t*>(&v), 4));
  EXPECT_EQ(v, 0xffffffffu);
  address = 0x80010000;  // bus 1
  f.io.write(0, std::span(reinterpret_cast<uint8_t*>(&address), 4));
  f.io.read(4, std::span(reinterpret_cast<uint8_t*>(&v), 4));
  EXPECT_EQ(v, 0xffffffffu);
  address = 0x80000100;  // function 1
  f.io.write(0, std::span(reinterpret_cast<uint8_t*>(&address), 4));
  f.io.read(4, std::span(reinterpret_cast<uint8_t*>(&v), 4));
  EXPECT_EQ(v, 0xffffffffu);
}

TEST(PciRoot, ByteAndWordAccessesThroughDataPort) {
  Fixture f;
  auto dev = std::make_shared<TestDevice>();
  uint8_t slot = f.root.attach(dev).value();
  EXPECT_EQ(f.conf.read(slot, 0x02, 2), 0x5678u);
  EXPECT_EQ(f.conf.read(slot, 0x01, 1), 0x12u);
  EXPECT_EQ(f.conf.read(slot, 0x03, 1), 0x56u);
}

TEST(PciRoot, ResetControlPort) {
  Fixture f;
  int resets = 0;
  f.io.set_reset_handler([&](uint8_t) { ++resets; });
  uint8_t v = 0x02;
  f.io.write(1, std::span(&v, 1));
  EXPECT_EQ(resets, 0);
  v = 0x06;
  f.io.write(1, std::span(&v, 1));
  EXPECT_EQ(resets, 1);
}

TEST(PciRoot, AttachPlacesBarsInWindows) {
  Fixture f;
  auto dev = std::make_shared<TestDevice>();
  uint8_t slot = f.root.attach(dev).value();
  EXPECT_EQ(slot, 1);
  uint64_t bar0 = dev->bar_address(0);
  uint64_t bar2 = dev->bar_address(2);
  EXPECT_GE(bar0, kWindows.mmio32.base);
  EXPECT_LT(bar0, kWindows.mmio32.base + kWindows.mmio32.size);
  EXPECT_EQ(bar0 % 0x1000, 0u);
  EXPECT_GE(bar2, kWindows.mmio64.base);
  EXPECT_EQ(bar2 % 0x4000, 0u);
  // As the guest reads them.
  EXPECT_EQ(f.conf.read(slot, 0x10), static_cast<uint32_t>(bar0));
  EXPECT_EQ(f.conf.read(slot, 0x18), static_cast<uint32_t>(bar2) | 0x4u);  // 64-bit type
  EXPECT_EQ(f.conf.read(slot, 0x1c), static_cast<uint32_t>(bar2 >> 32));
  EXPECT_EQ(f.conf.read(slot, 0x14), 0u);  // unused
  // Not decoding yet.
  EXPECT_FALSE(dev->bar_mapped_at(0));
  uint8_t buf[4];
  EXPECT_FALSE(f.mmio.read(bar0, buf));
}

TEST(PciRoot, LinuxBarSizing) {
  Fixture f;
  auto dev = std::make_shared<TestDevice>();
  uint8_t slot = f.root.attach(dev).value();
  // __pci_read_base: decode off, write all-ones, read the mask, restore.
  uint32_t orig0 = f.conf.read(slot, 0x10);
  f.conf.write(slot, 0x10, 0xffffffff);
  EXPECT_EQ(f.conf.read(slot, 0x10), 0xfffff000u);
  f.conf.write(slot, 0x10, orig0);
  EXPECT_EQ(f.conf.read(slot, 0x10), orig0);

  uint32_t lo = f.conf.read(slot, 0x18), hi = f.conf.read(slot, 0x1c);
  f.conf.write(slot, 0x18, 0xffffffff);
  f.conf.write(slot, 0x1c, 0xffffffff);
  EXPECT_EQ(f.conf.read(slot, 0x18), 0xffffc004u);
  EXPECT_EQ(f.conf.read(slot, 0x1c), 0xffffffffu);
  f.conf.write(slot, 0x18, lo);
  f.conf.write(slot, 0x1c, hi);
  EXPECT_EQ(f.conf.read(slot, 0x18), lo);
  EXPECT_EQ(f.conf.read(slot, 0x1c), hi);
  // Still the placement the root gave.
  EXPECT_EQ(dev->bar_address(2), (uint64_t{hi} << 32) | (lo & ~0xfu));
  EXPECT_TRUE(dev->events.empty());  // decode was off the whole time
}

TEST(PciRoot, MemoryEnableMapsAndUnmapsBars) {
  Fixture f;
  auto dev = std::make_shared<TestDevice>();
  uint8_t slot = f.root.attach(dev).value();
  uint64_t bar0 = dev->bar_address(0), bar2 = dev->bar_address(2);
  f.conf.write(slot, 0x04, 0x0006, 2);  // memory + bus master
  EXPECT_EQ(f.conf.read(slot, 0x04, 2), 0x0006u);
  ASSERT_EQ(dev->bar_mapped_at(0), bar0);
  ASSERT_EQ(dev->bar_mapped_at(2), bar2);
  uint8_t buf[4] = {};
  EXPECT_TRUE(f.mmio.read(bar0 + 0x10, buf));
  EXPECT_EQ(buf[0], 0x5a);
  EXPECT_TRUE(f.mmio.write(bar2 + 0x3ffc, buf));
  ASSERT_EQ(dev->reads.size(), 1u);
  EXPECT_EQ(dev->reads[0], std::make_pair(0u, uint64_t{0x10}));
  ASSERT_EQ(dev->writes.size(), 1u);
  EXPECT_EQ(dev->writes[0], std::make_pair(2u, uint64_t{0x3ffc}));
  EXPECT_FALSE(f.mmio.read(bar0 + 0x1000, buf));  // past the 4 KiB BAR

  f.conf.write(slot, 0x04, 0x0000, 2);
  EXPECT_FALSE(dev->bar_mapped_at(0));
  EXPECT_FALSE(f.mmio.read(bar0, buf));
  EXPECT_EQ(dev->events.size(), 4u);  // two maps, two unmaps
}

TEST(PciRoot, GuestMovesBar) {
  Fixture f;
  auto dev = std::make_shared<TestDevice>();
  uint8_t slot = f.root.attach(dev).value();
  f.conf.write(slot, 0x04, 0x0002, 2);
  uint64_t old = dev->bar_address(0);
  f.conf.write(slot, 0x10, 0xd0000000);
  EXPECT_EQ(dev->bar_mapped_at(0), 0xd0000000u);
  uint8_t buf[4];
  EXPECT_FALSE(f.mmio.read(old, buf));
  EXPECT_TRUE(f.mmio.read(0xd0000000, buf));
  EXPECT_EQ(dev->events.back(), "map 0 " + std::to_string(0xd0000000u));
  // Byte-wide BAR write (an odd guest): merges into the dword.
  f.conf.write(slot, 0x13, 0xd1, 1);
  EXPECT_EQ(dev->bar_address(0), 0xd1000000u);
  EXPECT_EQ(dev->bar_mapped_at(0), 0xd1000000u);
}

TEST(PciRoot, OverlappingBarStaysUnmapped) {
  Fixture f;
  auto a = std::make_shared<TestDevice>();
  auto b = std::make_shared<TestDevice>();
  uint8_t sa = f.root.attach(a).value();
  uint8_t sb = f.root.attach(b).value();
  EXPECT_NE(a->bar_address(0), b->bar_address(0));
  f.conf.write(sa, 0x04, 0x0002, 2);
  f.conf.write(sb, 0x04, 0x0002, 2);
  // A hostile guest stacks b's BAR0 on a's.
  f.conf.write(sb, 0x10, static_cast<uint32_t>(a->bar_address(0)));
  EXPECT_FALSE(b->bar_mapped_at(0));
  EXPECT_EQ(a->bar_mapped_at(0), a->bar_address(0));
  uint8_t buf[4];
  EXPECT_TRUE(f.mmio.read(a->bar_address(0), buf));
  EXPECT_EQ(a->reads.size(), 1u);
  EXPECT_TRUE(b->reads.empty());
  // Address 0 means unassigned: never mapped.
  f.conf.write(sb, 0x18, 0);
  f.conf.write(sb, 0x1c, 0);
  EXPECT_FALSE(b->bar_mapped_at(2));
}

TEST(PciRoot, ReadOnlyRegisters) {
  Fixture f;
  auto dev = std::make_shared<TestDevice>();
  uint8_t slot = f.root.attach(dev).value();
  f.conf.write(slot, 0x00, 0xffffffff);
  EXPECT_EQ(f.conf.read(slot, 0x00), 0x56781234u);
  f.conf.write(slot, 0x08, 0xffffffff);
  EXPECT_EQ(f.conf.read(slot, 0x08), 0xff000000u);
  f.conf.write(slot, 0x04, 0xffffffff);  // command + status
  EXPECT_EQ(f.conf.read(slot, 0x04, 2), pci::kCommandWritable);
  EXPECT_EQ(f.conf.read(slot, 0x06, 2), 0u);
  f.conf.write(slot, 0x30, 0xffffffff);  // no expansion ROM
  EXPECT_EQ(f.conf.read(slot, 0x30), 0u);
  f.conf.write(slot, 0x3c, 0xffffffff);
  EXPECT_EQ(f.conf.read(slot, 0x3c), 0x000000ffu);  // line writable, pin 0 (none)
}

TEST(PciRoot, SlotAllocation) {
  Fixture f;
  EXPECT_FALSE(f.root.attach(std::make_shared<TestDevice>(), 0).ok());
  EXPECT_FALSE(f.root.attach(std::make_shared<TestDevice>(), 32).ok());
  EXPECT_EQ(f.root.attach(std::make_shared<TestDevice>(), 7).value(), 7);
  auto dup = f.root.attach(std::make_shared<TestDevice>(), 7);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message(), "pci: slot 7 is already in use");
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(f.root.attach(std::make_shared<TestDevice>()).ok());
  auto full = f.root.attach(std::make_shared<TestDevice>());
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().message(), "pci: no free slot on bus 0");
  EXPECT_EQ(f.root.occupied_slots().size(), 32u);
}

TEST(PciRoot, WindowExhaustionIsAnErrorAndRollsBack) {
  Bus mmio("mmio");
  PciRoot root(mmio, PciWindows{{0xc0000000, 0x5000}, {}});  // 64-bit BARs fall back to 32
  auto a = std::make_shared<TestDevice>();                   // needs 0x4000 + 0x1000
  ASSERT_TRUE(root.attach(a).ok());
  EXPECT_EQ(a->bar_address(2), 0xc0000000u);
  EXPECT_EQ(a->bar_address(0), 0xc0004000u);
  auto b = std::make_shared<TestDevice>();
  auto r = root.attach(b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("no room for BAR"), std::string::npos);
  EXPECT_EQ(root.occupied_slots().size(), 2u);  // the host bridge and a
}

TEST(PciRoot, IntxLineAndStatusBit) {
  Fixture f;
  auto dev = std::make_shared<TestDevice>();
  auto line = std::make_shared<testing::FakeIrqLine>();
  dev->set_irq_line(line, 11);
  uint8_t slot = f.root.attach(dev).value();
  EXPECT_EQ(f.conf.read(slot, 0x3c, 2), 0x010bu);  // INTA#, line 11
  dev->raise(true);
  EXPECT_TRUE(line->get());
  EXPECT_TRUE(f.conf.read(slot, 0x06, 2) & pci::kStatusInterrupt);
  f.conf.write(slot, 0x04, pci::kCommandIntxDisable, 2);
  EXPECT_FALSE(line->get());
  f.conf.write(slot, 0x04, 0, 2);
  EXPECT_TRUE(line->get());
  dev->raise(false);
  EXPECT_FALSE(line->get());
  EXPECT_FALSE(f.conf.read(slot, 0x06, 2) & pci::kStatusInterrupt);
}

TEST(PciRoot, ResetRestoresThePlacementAndStopsDecoding) {
  Fixture f;
  auto dev = std::make_shared<TestDevice>();
  uint8_t slot = f.root.attach(dev).value();
  uint64_t bar0 = dev->bar_address(0);
  f.conf.write(slot, 0x04, 0x0006, 2);
  f.conf.write(slot, 0x10, 0xd0000000);
  f.conf.write(slot, 0x3c, 0x05, 1);
  ASSERT_EQ(dev->bar_mapped_at(0), 0xd0000000u);
  f.root.reset();
  EXPECT_EQ(f.conf.read(slot, 0x04, 2), 0u);
  EXPECT_EQ(dev->bar_address(0), bar0);
  EXPECT_FALSE(dev->bar_mapped_at(0));
  uint8_t buf[4];
  EXPECT_FALSE(f.mmio.read(0xd0000000, buf));
  EXPECT_EQ(f.conf.read(slot, 0x3c, 1), 0u);
  EXPECT_EQ(f.conf.read(0, 0), 0x00081b36u);  // the host bridge is still there
  f.conf.write(slot, 0x04, 0x0002, 2);
  EXPECT_EQ(dev->bar_mapped_at(0), bar0);
}

TEST(PciDevice, BarDeclarationErrors) {
  TestDevice dev;                                                   // BAR0 32-bit, BAR2-3 64-bit
  EXPECT_FALSE(dev.add_bar(0, {0x1000, BarType::kMemory32}).ok());  // taken
  EXPECT_FALSE(dev.add_bar(3, {0x1000, BarType::kMemory32}).ok());  // upper half of BAR2
  EXPECT_FALSE(dev.add_bar(5, {0x1000, BarType::kMemory64}).ok());  // needs 6
  EXPECT_FALSE(dev.add_bar(4, {0x1800, BarType::kMemory32}).ok());  // not a power of two
  EXPECT_FALSE(dev.add_bar(4, {8, BarType::kMemory32}).ok());
  EXPECT_TRUE(dev.add_bar(4, {0x100000, BarType::kMemory64}).ok());
  EXPECT_FALSE(dev.bar_spec(3));
  EXPECT_FALSE(dev.bar_spec(9));
}

}  // namespace
}  // namespace vmkit
