#include "pci/msix.h"

#include <gtest/gtest.h>

#include <cstring>

#include "pci/testing/fake_platform.h"

namespace vmkit {
namespace {

constexpr uint16_t kEnable = 0x8000;
constexpr uint16_t kFunctionMask = 0x4000;

struct Fixture {
  Fixture() : state(std::make_shared<testing::FakeMsiState>()) {
    msix = std::make_unique<MsixCapability>(4, std::make_unique<testing::FakeMsiGroup>(4, state));
    EXPECT_TRUE(msix->install(config, 2, 0x4000, 0x5000).ok());
    cap = config.read8(pci::kCapabilityPointer);
  }
  void set_control(uint16_t control) {
    uint8_t bytes[2] = {static_cast<uint8_t>(control), static_cast<uint8_t>(control >> 8)};
    config.guest_write(cap + 2u, bytes);
    msix->config_written(config, static_cast<uint16_t>(cap + 2), 2);
  }
  void write32(uint64_t offset, uint32_t v) {
    msix->table_write(offset, std::span(reinterpret_cast<const uint8_t*>(&v), 4));
  }
  uint32_t read32(uint64_t offset) {
    uint32_t v = 0;
    msix->table_read(offset, std::span(reinterpret_cast<uint8_t*>(&v), 4));
    return v;
  }
  void program(uint16_t vector, uint64_t address, uint32_t data, bool masked) {
    write32(vector * 16u, static_cast<uint32_t>(address));
    write32(vector * 16u + 4, static_cast<uint32_t>(address >> 32));
    write32(vector * 16u + 8, data);
    write32(vector * 16u + 12, masked ? 1 : 0);
  }
  uint64_t pba() {
    uint64_t v = 0;
    msix->pba_read(0, std::span(reinterpret_cast<uint8_t*>(&v), 8));
    return v;
  }

  pci::ConfigSpace config;
  std::shared_ptr<testing::FakeMsiState> state;
  std::unique_ptr<MsixCapability> msix;
  uint8_t cap = 0;
};

TEST(Msix, CapabilityLayout) {
  Fixture f;
  EXPECT_EQ(f.config.read8(f.cap), pci::kCapMsix);
  EXPECT_EQ(f.config.read16(f.cap + 2u), 3);             // table size - 1
  EXPECT_EQ(f.config.read32(f.cap + 4u), 0x4000u | 2u);  // table offset | BIR
  EXPECT_EQ(f.config.read32(f.cap + 8u), 0x5000u | 2u);  // PBA offset | BIR
  uint8_t ones[4] = {0xff, 0xff, 0xff, 0xff};
  f.config.guest_write(f.cap + 2u, std::span(ones, 2));
  EXPECT_EQ(f.config.read16(f.cap + 2u), 0xc003);  // only enable + mask writable
  f.config.guest_write(f.cap + 4u, ones);
  EXPECT_EQ(f.config.read32(f.cap + 4u), 0x4002u);
  EXPECT_EQ(f.msix->table_bytes(), 64u);
  EXPECT_EQ(f.msix->pba_bytes(), 8u);
}

TEST(Msix, EntriesStartMaskedAndTableIsReadable) {
  Fixture f;
  for (uint16_t v = 0; v < 4; ++v) EXPECT_EQ(f.read32(v * 16u + 12), 1u);
  f.program(1, 0xfee00000, 0x4041, false);
  EXPECT_EQ(f.read32(16), 0xfee00000u);
  EXPECT_EQ(f.read32(24), 0x4041u);
  EXPECT_EQ(f.read32(28), 0u);
  f.write32(28, 0xfffffffe);  // reserved vector-control bits stay 0
  EXPECT_EQ(f.read32(28), 0u);
  f.write32(16, 0xfee00003);  // address bits 1:0 are read-only zero
  EXPECT_EQ(f.read32(16), 0xfee00000u);
  // Out-of-range accesses read zero and are dropped.
  EXPECT_EQ(f.read32(64), 0u);
  f.write32(0xfffffffffffffffeull, 0x1234);
  uint8_t b = 0;
  f.msix->pba_read(100, std::span(&b, 1));
  EXPECT_EQ(b, 0);
}

TEST(Msix, DeliversOnlyWhenEnabledAndUnmasked) {
  Fixture f;
  f.program(0, 0xfee00000, 0x30, false);
  f.msix->notify(0);  // MSI-X disabled: nothing, not even pending
  EXPECT_EQ(f.state->total_triggers(), 0);
  EXPECT_EQ(f.pba(), 0u);
  EXPECT_FALSE(f.state->route(0));

  f.set_control(kEnable);
  EXPECT_TRUE(f.msix->enabled());
  ASSERT_TRUE(f.state->route(0));
  EXPECT_EQ(f.state->route(0)->address, 0xfee00000u);
  EXPECT_EQ(f.state->route(0)->data, 0x30u);
  EXPECT_FALSE(f.state->route(1));  // still masked
  f.msix->notify(0);
  EXPECT_EQ(f.state->triggered(0), 1);
  f.msix->notify(9);  // out of range
  EXPECT_EQ(f.state->total_triggers(), 1);
  EXPECT_FALSE(f.state->triggered_without_route);
}

TEST(Msix, MaskedVectorPendsAndFiresOnUnmask) {
  Fixture f;
  f.set_control(kEnable);
  f.program(2, 0xfee01000, 0x41, true);
  f.msix->notify(2);
  EXPECT_EQ(f.state->triggered(2), 0);
  EXPECT_EQ(f.pba(), 1u << 2);
  f.write32(2 * 16 + 12, 0);  // unmask
  EXPECT_EQ(f.state->triggered(2), 1);
  EXPECT_EQ(f.pba(), 0u);
  EXPECT_FALSE(f.state->triggered_without_route);
}

TEST(Msix, FunctionMask) {
  Fixture f;
  f.program(0, 0xfee00000, 0x30, false);
  f.set_control(kEnable | kFunctionMask);
  EXPECT_FALSE(f.state->route(0));
  f.msix->notify(0);
  EXPECT_EQ(f.state->triggered(0), 0);
  EXPECT_EQ(f.pba(), 1u);
  f.set_control(kEnable);
  EXPECT_EQ(f.state->triggered(0), 1);
  EXPECT_EQ(f.pba(), 0u);
  // Disabling tears the routes down.
  f.set_control(0);
  EXPECT_FALSE(f.state->route(0));
  EXPECT_FALSE(f.msix->enabled());
}

TEST(Msix, ReprogrammingUpdatesTheRoute) {
  Fixture f;
  f.set_control(kEnable);
  f.program(3, 0xfee00000, 0x50, false);
  int updates = f.state->updates;
  f.write32(3 * 16 + 8, 0x51);  // data changed while unmasked
  EXPECT_EQ(f.state->route(3)->data, 0x51u);
  EXPECT_EQ(f.state->updates, updates + 1);
  f.write32(3 * 16 + 8, 0x51);  // unchanged: no update
  EXPECT_EQ(f.state->updates, updates + 1);
}

TEST(Msix, ResetMasksEverything) {
  Fixture f;
  f.set_control(kEnable);
  f.program(1, 0xfee00000, 0x31, false);
  f.write32(2 * 16 + 12, 1);
  f.msix->notify(2);
  ASSERT_TRUE(f.state->route(1));
  f.msix->reset();
  EXPECT_FALSE(f.msix->enabled());
  EXPECT_FALSE(f.state->route(1));
  EXPECT_EQ(f.read32(16), 0u);
  EXPECT_EQ(f.read32(28), 1u);
  EXPECT_EQ(f.pba(), 0u);
}

TEST(Msix, InstallRejectsMisalignedOffsets) {
  pci::ConfigSpace config;
  MsixCapability msix(2, nullptr);
  EXPECT_FALSE(msix.install(config, 0, 0x4004, 0x5000).ok());
  EXPECT_FALSE(msix.install(config, 6, 0x4000, 0x5000).ok());
  msix.notify(0);  // no group: harmless
}

}  // namespace
}  // namespace vmkit
