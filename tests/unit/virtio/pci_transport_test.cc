// Drives the virtio-pci transport the way Linux's virtio_pci_modern does: through PCI
// configuration space (capability walk) and MMIO accesses to the BAR on the bus.
#include "virtio/pci_transport.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "fake_driver.h"
#include "pci/pci_root.h"
#include "pci/testing/fake_platform.h"
#include "virtio/virtio_spec.h"

namespace vmkit {
namespace {

using namespace virtio;

// A device with two queues (sizes 64 and 16) and an 8-byte config space.
class TestDevice final : public VirtioDevice {
 public:
  uint32_t device_type() const override { return kDeviceEntropy; }
  std::vector<uint16_t> queue_max_sizes() const override { return {64, 16}; }
  uint64_t device_features() const override { return 1u << 3; }
  bool accept_features(uint64_t f) override { return !(f & (1u << 3)) || accept; }
  size_t config_size() const override { return 8; }
  void read_config(uint64_t offset, std::span<uint8_t> data) override {
    std::memcpy(data.data(), config + offset, data.size());
  }
  void write_config(uint64_t offset, std::span<const uint8_t> data) override {
    std::memcpy(config + offset, data.data(), data.size());
  }
  Status activate(VirtioActivation a) override {
    ++activations;
    features = a.features;
    interrupt = a.interrupt;
    queues.clear();
    for (auto& q : a.queues) queues.push_back({q.index, q.queue.size(), q.notify});
    return fail_activation ? Status(Error("backend gone")) : Status();
  }
  void reset() override {
    ++resets;
    interrupt = nullptr;
    queues.clear();
  }

  struct Q {
    uint16_t index;
    uint16_t size;
    const EventFd* notify;
  };
  uint8_t config[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  bool accept = true;
  bool fail_activation = false;
  int activations = 0, resets = 0;
  uint64_t features = 0;
  VirtioInterrupt* interrupt = nullptr;
  std::vector<Q> queues;
};

constexpr PciWindows kWindows{{0xc0000000, 0x10000000}, {0x100000000, 0x10000000}};

struct Fixture {
  explicit Fixture(bool with_msi = true, bool with_ioevents = true) {
    auto dev = std::make_unique<TestDevice>();
    device = dev.get();
    VirtioPciPlatform platform{&mem, with_msi ? &msi : nullptr,
                               with_ioevents ? &ioevents : nullptr};
    transport = VirtioPciDevice::create(std::move(dev), platform).value();
    transport->set_irq_line(line, 10);
    slot = root.attach(transport).value();
    cfg_write(0x04, pci::kCommandMemory | pci::kCommandBusMaster, 2);
    bar = (uint64_t{cfg_read(0x14)} << 32) | (cfg_read(0x10) & ~0xfu);
    find_caps();
  }

  uint32_t cfg_read(uint16_t reg, size_t len = 4) {
    uint8_t b[4] = {};
    root.config_read(0, slot, 0, reg, std::span(b, len));
    uint32_t v = 0;
    std::memcpy(&v, b, len);
    return v;
  }
  void cfg_write(uint16_t reg, uint32_t v, size_t len = 4) {
    root.config_write(0, slot, 0, reg, std::span(reinterpret_cast<uint8_t*>(&v), len));
  }
  void find_caps() {
    for (uint8_t at = static_cast<uint8_t>(cfg_read(0x34, 1)); at;
         at = static_cast<uint8_t>(cfg_read(at + 1u, 1))) {
      uint8_t id = static_cast<uint8_t>(cfg_read(at, 1));
      if (id == pci::kCapMsix) msix_cap = at;
      if (id != pci::kCapVendorSpecific) continue;
      uint8_t type = static_cast<uint8_t>(cfg_read(at + 3u, 1));
      if (caps.count(type)) continue;  // the first of each type wins
      caps[type] = {at, cfg_read(at + 8u), cfg_read(at + 12u)};
    }
  }
  uint64_t mmio_read(uint64_t addr, size_t len) {
    uint8_t b[8] = {};
    EXPECT_TRUE(bus.read(addr, std::span(b, len)));
    uint64_t v = 0;
    std::memcpy(&v, b, len);
    return v;
  }
  void mmio_write(uint64_t addr, uint64_t v, size_t len) {
    EXPECT_TRUE(bus.write(addr, std::span(reinterpret_cast<uint8_t*>(&v), len)));
  }
  uint64_t common(uint64_t field) { return bar + caps[kPciCapCommonCfg].offset + field; }
  uint64_t rd(uint64_t field, size_t len) { return mmio_read(common(field), len); }
  void wr(uint64_t field, uint64_t v, size_t len) { mmio_write(common(field), v, len); }

  // The virtio 1.x initialization sequence, up to FEATURES_OK. Returns the status read back.
  uint8_t negotiate(uint64_t features) {
    wr(0x14, 0, 1);
    wr(0x14, kStatusAcknowledge, 1);
    wr(0x14, kStatusAcknowledge | kStatusDriver, 1);
    wr(0x08, 0, 4);
    wr(0x0c, static_cast<uint32_t>(features), 4);
    wr(0x08, 1, 4);
    wr(0x0c, static_cast<uint32_t>(features >> 32), 4);
    wr(0x14, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk, 1);
    return static_cast<uint8_t>(rd(0x14, 1));
  }
  uint64_t offered() {
    wr(0x00, 0, 4);
    uint64_t lo = rd(0x04, 4);
    wr(0x00, 1, 4);
    return lo | (rd(0x04, 4) << 32);
  }
  void setup_queue(uint16_t index, uint16_t size, const QueueLayout& l, uint16_t vector) {
    wr(0x16, index, 2);
    wr(0x18, size, 2);
    wr(0x20, l.desc.value(), 8);
    wr(0x28, static_cast<uint32_t>(l.avail.value()), 4);  // two 32-bit halves
    wr(0x2c, static_cast<uint32_t>(l.avail.value() >> 32), 4);
    wr(0x30, l.used.value(), 8);
    wr(0x1a, vector, 2);
    wr(0x1c, 1, 2);
  }
  void driver_ok() {
    wr(0x14, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk, 1);
  }
  void enable_msix() {
    cfg_write(msix_cap + 2u, 0x8000, 2);
    uint64_t table = bar + (cfg_read(msix_cap + 4u) & ~7u);
    for (uint64_t v = 0; v < 3; ++v) {
      mmio_write(table + 16 * v, 0xfee00000, 4);
      mmio_write(table + 16 * v + 8, 0x40 + v, 4);
      mmio_write(table + 16 * v + 12, 0, 4);
    }
  }

  struct Cap {
    uint8_t at;
    uint32_t offset, length;
  };
  // The platform outlives the bus and the root, which unregister ioeventfds on teardown.
  GuestMemory mem = GuestMemory::create({{GuestAddress(0), 0x100000}}).value();
  testing::FakeMsiController msi;
  testing::FakeIoEventRegistrar ioevents;
  std::shared_ptr<testing::FakeIrqLine> line = std::make_shared<testing::FakeIrqLine>();
  Bus bus{"mmio"};
  PciRoot root{bus, kWindows};
  TestDevice* device = nullptr;
  std::shared_ptr<VirtioPciDevice> transport;
  uint8_t slot = 0;
  uint64_t bar = 0;
  uint8_t msix_cap = 0;
  std::map<uint8_t, Cap> caps;
  testing::FakeQueueDriver q0{mem, 64, GuestAddress(0x1000), GuestAddress(0x10000), 0x10000};
  testing::FakeQueueDriver q1{mem, 16, GuestAddress(0x4000), GuestAddress(0x20000), 0x10000};
};

constexpr uint64_t kDriverFeatures = kFeatureVersion1 | kFeatureEventIdx | kFeatureIndirectDesc;

TEST(VirtioPci, IdentityAndCapabilities) {
  Fixture f;
  EXPECT_EQ(f.cfg_read(0x00), 0x10441af4u);  // 0x1040 + entropy
  EXPECT_EQ(f.cfg_read(0x08, 1), 1u);        // revision 1: modern
  EXPECT_EQ(f.cfg_read(0x2c), 0x11001af4u);
  EXPECT_EQ(f.msi.allocated, std::vector<uint16_t>{3});  // 2 queues + config
  ASSERT_EQ(f.caps.size(), 5u);
  EXPECT_EQ(f.caps[kPciCapCommonCfg].length, 0x40u);
  EXPECT_EQ(f.caps[kPciCapNotifyCfg].length, 8u);
  EXPECT_EQ(f.cfg_read(f.caps[kPciCapNotifyCfg].at + 16u), 4u);  // multiplier
  EXPECT_EQ(f.caps[kPciCapIsrCfg].length, 1u);
  EXPECT_EQ(f.caps[kPciCapDeviceCfg].length, 8u);
  EXPECT_TRUE(f.caps.count(kPciCapPciCfg));
  EXPECT_NE(f.msix_cap, 0);
  for (auto& [type, cap] : f.caps) EXPECT_EQ(f.cfg_read(cap.at + 4u, 1), 0u) << int(type);
  EXPECT_GE(f.bar, kWindows.mmio64.base);
  EXPECT_EQ(f.rd(0x12, 2), 2u);  // num_queues
}

TEST(VirtioPci, FeatureNegotiation) {
  Fixture f;
  EXPECT_EQ(f.offered(), kDriverFeatures | (1u << 3));
  EXPECT_EQ(f.negotiate(kDriverFeatures) & kStatusFeaturesOk, kStatusFeaturesOk);
  // Device features other than 0 and 1 read as zero.
  f.wr(0x00, 7, 4);
  EXPECT_EQ(f.rd(0x04, 4), 0u);
  // Driver features are frozen once FEATURES_OK is set.
  f.wr(0x08, 0, 4);
  f.wr(0x0c, 0, 4);
  f.wr(0x08, 1, 4);
  EXPECT_EQ(f.rd(0x0c, 4), 1u);  // VERSION_1 still there
}

TEST(VirtioPci, FeaturesOkRefusedWithoutVersion1) {
  Fixture f;
  EXPECT_EQ(f.negotiate(kFeatureEventIdx) & kStatusFeaturesOk, 0);
}

TEST(VirtioPci, FeaturesOkRefusedForUnofferedBits) {
  Fixture f;
  EXPECT_EQ(f.negotiate(kDriverFeatures | (1u << 5)) & kStatusFeaturesOk, 0);
}

TEST(VirtioPci, FeaturesOkRefusedByDevice) {
  Fixture f;
  f.device->accept = false;
  EXPECT_EQ(f.negotiate(kDriverFeatures | (1u << 3)) & kStatusFeaturesOk, 0);
  EXPECT_EQ(f.negotiate(kDriverFeatures) & kStatusFeaturesOk, kStatusFeaturesOk);
}

TEST(VirtioPci, QueueSetupAndActivation) {
  Fixture f;
  f.negotiate(kDriverFeatures);
  EXPECT_EQ(f.rd(0x18, 2), 64u);  // queue 0 max size
  f.setup_queue(0, 64, f.q0.layout(), 1);
  EXPECT_EQ(f.rd(0x1a, 2), 1u);
  EXPECT_EQ(f.rd(0x20, 8), f.q0.layout().desc.value());
  EXPECT_EQ(f.rd(0x1c, 2), 1u);
  EXPECT_EQ(f.rd(0x1e, 2), 0u);  // notify offset
  f.wr(0x16, 1, 2);
  EXPECT_EQ(f.rd(0x18, 2), 16u);
  EXPECT_EQ(f.rd(0x1e, 2), 1u);
  f.wr(0x16, 9, 2);  // no such queue
  EXPECT_EQ(f.rd(0x18, 2), 0u);
  f.wr(0x1c, 1, 2);  // ignored
  f.driver_ok();
  EXPECT_EQ(f.device->activations, 1);
  EXPECT_EQ(f.device->features, kDriverFeatures);
  ASSERT_EQ(f.device->queues.size(), 1u);  // queue 1 never enabled
  EXPECT_EQ(f.device->queues[0].index, 0);
  EXPECT_EQ(f.device->queues[0].size, 64);
  EXPECT_EQ(f.transport->status(),
            kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  // Queue registers are frozen now.
  f.wr(0x16, 0, 2);
  f.wr(0x20, 0x9000, 8);
  EXPECT_EQ(f.rd(0x20, 8), f.q0.layout().desc.value());
}

TEST(VirtioPci, SmallerQueueSize) {
  Fixture f;
  f.negotiate(kDriverFeatures);
  testing::FakeQueueDriver small(f.mem, 8, GuestAddress(0x8000), GuestAddress(0x30000), 0x1000);
  f.setup_queue(0, 8, small.layout(), 1);
  f.driver_ok();
  ASSERT_EQ(f.device->queues.size(), 1u);
  EXPECT_EQ(f.device->queues[0].size, 8);
}

TEST(VirtioPci, QueueSizeNotAPowerOfTwoNeedsReset) {
  Fixture f;
  f.enable_msix();
  f.negotiate(kDriverFeatures);
  f.wr(0x10, 2, 2);  // config vector
  f.setup_queue(0, 100, f.q0.layout(), 0);
  f.driver_ok();
  EXPECT_EQ(f.device->activations, 0);
  EXPECT_TRUE(f.transport->status() & kStatusNeedsReset);
  EXPECT_EQ(f.msi.last->triggered(2), 1);  // config change notification
  // Reset recovers.
  f.wr(0x14, 0, 1);
  EXPECT_EQ(f.rd(0x14, 1), 0u);
}

TEST(VirtioPci, QueueOutsideRamNeedsReset) {
  Fixture f;
  f.negotiate(kDriverFeatures);
  QueueLayout bad = f.q0.layout();
  bad.used = GuestAddress(0x200000);
  f.setup_queue(0, 64, bad, 0);
  f.driver_ok();
  EXPECT_EQ(f.device->activations, 0);
  EXPECT_TRUE(f.transport->status() & kStatusNeedsReset);
}

TEST(VirtioPci, DriverOkWithoutFeaturesOkNeedsReset) {
  Fixture f;
  f.wr(0x14, kStatusAcknowledge | kStatusDriver | kStatusDriverOk, 1);
  EXPECT_EQ(f.device->activations, 0);
  EXPECT_TRUE(f.rd(0x14, 1) & kStatusNeedsReset);
}

TEST(VirtioPci, ActivationFailureNeedsReset) {
  Fixture f;
  f.device->fail_activation = true;
  f.negotiate(kDriverFeatures);
  f.setup_queue(0, 64, f.q0.layout(), 0);
  f.driver_ok();
  EXPECT_TRUE(f.transport->status() & kStatusNeedsReset);
  f.wr(0x14, 0, 1);
  EXPECT_GE(f.device->resets, 2);  // the failed activation is undone
}

TEST(VirtioPci, ResetClearsEverything) {
  Fixture f;
  f.negotiate(kDriverFeatures);
  f.setup_queue(0, 64, f.q0.layout(), 1);
  f.wr(0x10, 2, 2);
  f.driver_ok();
  int resets = f.device->resets;
  f.wr(0x14, 0, 1);
  EXPECT_EQ(f.device->resets, resets + 1);
  EXPECT_EQ(f.rd(0x14, 1), 0u);
  EXPECT_EQ(f.rd(0x10, 2), kMsiNoVector);
  f.wr(0x16, 0, 2);
  EXPECT_EQ(f.rd(0x1c, 2), 0u);  // queue_enable
  EXPECT_EQ(f.rd(0x18, 2), 64u);
  EXPECT_EQ(f.rd(0x1a, 2), kMsiNoVector);
  EXPECT_EQ(f.rd(0x20, 8), 0u);
  f.wr(0x08, 1, 4);
  EXPECT_EQ(f.rd(0x0c, 4), 0u);
  // And the device can be brought up again.
  f.negotiate(kDriverFeatures);
  f.setup_queue(0, 64, f.q0.layout(), 1);
  f.driver_ok();
  EXPECT_EQ(f.device->activations, 2);
}

TEST(VirtioPci, StatusBitsAreNeverClearedByTheDriver) {
  Fixture f;
  f.negotiate(kDriverFeatures);
  f.wr(0x14, kStatusAcknowledge, 1);
  EXPECT_EQ(f.rd(0x14, 1), kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  f.wr(0x14, kStatusNeedsReset, 1);  // the device's bit
  EXPECT_FALSE(f.rd(0x14, 1) & kStatusNeedsReset);
}

TEST(VirtioPci, MsixVectors) {
  Fixture f;
  f.enable_msix();
  f.negotiate(kDriverFeatures);
  f.wr(0x10, 3, 2);  // outside the 3-entry table
  EXPECT_EQ(f.rd(0x10, 2), kMsiNoVector);
  f.wr(0x10, 2, 2);
  EXPECT_EQ(f.rd(0x10, 2), 2u);
  f.setup_queue(0, 64, f.q0.layout(), 0);
  f.wr(0x16, 1, 2);
  f.wr(0x1a, 0x7ff, 2);
  EXPECT_EQ(f.rd(0x1a, 2), kMsiNoVector);
  f.driver_ok();
  ASSERT_NE(f.device->interrupt, nullptr);
  EXPECT_TRUE(f.transport->msix_enabled());
  f.device->interrupt->signal_used(0);
  EXPECT_EQ(f.msi.last->triggered(0), 1);
  f.device->interrupt->signal_used(1);   // NO_VECTOR: nothing
  f.device->interrupt->signal_used(40);  // no such queue
  EXPECT_EQ(f.msi.last->total_triggers(), 1);
  uint8_t gen = static_cast<uint8_t>(f.rd(0x15, 1));
  f.device->interrupt->signal_config_change();
  EXPECT_EQ(f.msi.last->triggered(2), 1);
  EXPECT_EQ(f.rd(0x15, 1), static_cast<uint8_t>(gen + 1));
  EXPECT_FALSE(f.line->get());  // INTx unused with MSI-X
  EXPECT_EQ(f.msi.last->route(0)->data, 0x40u);
}

TEST(VirtioPci, DeviceErrorSetsNeedsReset) {
  Fixture f;
  f.enable_msix();
  f.negotiate(kDriverFeatures);
  f.wr(0x10, 2, 2);
  f.setup_queue(0, 64, f.q0.layout(), 0);
  f.driver_ok();
  f.device->interrupt->signal_device_error();
  f.device->interrupt->signal_device_error();  // once is enough
  EXPECT_TRUE(f.rd(0x14, 1) & kStatusNeedsReset);
  EXPECT_EQ(f.msi.last->triggered(2), 1);
}

TEST(VirtioPci, IntxWhenMsixIsOff) {
  Fixture f(/*with_msi=*/false);
  EXPECT_EQ(f.cfg_read(0x3c, 2), 0x010au);
  f.negotiate(kDriverFeatures);
  f.setup_queue(0, 64, f.q0.layout(), 0);
  EXPECT_EQ(f.rd(0x1a, 2), kMsiNoVector);  // no MSI-X: no vector can be mapped
  f.driver_ok();
  f.device->interrupt->signal_used(0);
  EXPECT_TRUE(f.line->get());
  EXPECT_TRUE(f.cfg_read(0x06, 2) & pci::kStatusInterrupt);
  uint64_t isr = f.bar + f.caps[kPciCapIsrCfg].offset;
  EXPECT_EQ(f.mmio_read(isr, 1), kIsrQueue);
  EXPECT_FALSE(f.line->get());
  EXPECT_EQ(f.mmio_read(isr, 1), 0u);  // read clears
  f.device->interrupt->signal_config_change();
  EXPECT_EQ(f.mmio_read(isr, 1), kIsrConfig);
}

TEST(VirtioPci, NotificationsThroughIoeventfd) {
  Fixture f;
  auto registered = f.ioevents.snapshot();
  ASSERT_EQ(registered.size(), 2u);
  uint64_t n0 = f.bar + f.caps[kPciCapNotifyCfg].offset;
  EXPECT_EQ(registered[n0], f.transport->queue_event(0).fd());
  EXPECT_EQ(registered[n0 + 4], f.transport->queue_event(1).fd());
  EXPECT_EQ(f.transport->notify_address(1), n0 + 4);
  // Moving the BAR moves the registrations.
  f.cfg_write(0x14, 0x2);
  registered = f.ioevents.snapshot();
  ASSERT_EQ(registered.size(), 2u);
  EXPECT_TRUE(registered.count(0x200000000 + f.caps[kPciCapNotifyCfg].offset));
  f.cfg_write(0x04, 0, 2);  // decode off
  EXPECT_TRUE(f.ioevents.snapshot().empty());
}

TEST(VirtioPci, NotificationsThroughTheBusWhenIoeventfdFails) {
  Fixture f(true, false);
  uint64_t n0 = f.bar + f.caps[kPciCapNotifyCfg].offset;
  f.mmio_write(n0 + 4, 1, 2);
  EXPECT_EQ(f.transport->queue_event(1).consume(), 1u);
  EXPECT_EQ(f.transport->queue_event(0).consume(), 0u);
  // Past the notify region (a queue that does not exist): dropped.
  f.mmio_write(n0 + 8, 2, 2);
  EXPECT_EQ(f.transport->queue_event(0).consume() + f.transport->queue_event(1).consume(), 0u);
  // Stale notifications are dropped at reset.
  f.mmio_write(n0, 0, 2);
  f.wr(0x14, 0, 1);
  EXPECT_EQ(f.transport->queue_event(0).consume(), 0u);
}

TEST(VirtioPci, DeviceConfigIsClamped) {
  Fixture f;
  uint64_t dc = f.bar + f.caps[kPciCapDeviceCfg].offset;
  EXPECT_EQ(f.mmio_read(dc, 4), 0x04030201u);
  EXPECT_EQ(f.mmio_read(dc + 6, 4), 0x0807u);  // two bytes inside, two past the end
  EXPECT_EQ(f.mmio_read(dc + 0x100, 4), 0u);
  f.mmio_write(dc + 7, 0xaabb, 2);
  EXPECT_EQ(f.device->config[7], 0xbb);
  f.mmio_write(dc + 0xffc, 0xffffffff, 4);  // far past: ignored
}

TEST(VirtioPci, PciCfgCapabilityReachesTheBar) {
  Fixture f;
  uint8_t cap = f.caps[kPciCapPciCfg].at;
  f.cfg_write(cap + 4u, VirtioPciDevice::kBar, 1);
  f.cfg_write(cap + 8u, 0x12);  // num_queues
  f.cfg_write(cap + 12u, 2);
  EXPECT_EQ(f.cfg_read(cap + 16u, 2), 2u);
  // A write through the window: device_status.
  f.cfg_write(cap + 8u, 0x14);
  f.cfg_write(cap + 12u, 1);
  f.cfg_write(cap + 16u, kStatusAcknowledge, 1);
  EXPECT_EQ(f.rd(0x14, 1), kStatusAcknowledge);
  // Misaligned, oversized or foreign-BAR accesses do nothing.
  f.cfg_write(cap + 8u, 0x13);
  f.cfg_write(cap + 12u, 2);
  EXPECT_EQ(f.cfg_read(cap + 16u), 0u);
  f.cfg_write(cap + 12u, 8);
  f.cfg_write(cap + 16u, 0xffffffff);
  f.cfg_write(cap + 4u, 3, 1);
  f.cfg_write(cap + 12u, 4);
  f.cfg_write(cap + 8u, 0x14);
  f.cfg_write(cap + 16u, 0);
  EXPECT_EQ(f.rd(0x14, 1), kStatusAcknowledge);
}

TEST(VirtioPci, OddWidthCommonConfigAccesses) {
  Fixture f;
  f.wr(0x14, kStatusAcknowledge, 1);
  EXPECT_EQ(f.rd(0x14, 1), kStatusAcknowledge);
  // A 4-byte write over num_queues (read-only) and status: only the status changes.
  f.wr(0x12, 0x0003ffff, 4);
  EXPECT_EQ(f.rd(0x12, 2), 2u);
  EXPECT_EQ(f.rd(0x14, 1), kStatusAcknowledge | kStatusDriver);
  EXPECT_EQ(f.rd(0x3a, 2), 0u);  // queue_reset: not offered
}

TEST(VirtioPci, PciRootResetResetsTheDeviceAndMsix) {
  Fixture f;
  f.enable_msix();
  f.negotiate(kDriverFeatures);
  f.setup_queue(0, 64, f.q0.layout(), 0);
  f.driver_ok();
  ASSERT_TRUE(f.transport->msix_enabled());
  int resets = f.device->resets;
  f.root.reset();
  EXPECT_EQ(f.device->resets, resets + 1);
  EXPECT_EQ(f.transport->status(), 0);
  EXPECT_FALSE(f.transport->msix_enabled());
  EXPECT_EQ(f.cfg_read(f.msix_cap + 2u, 2), 2u);  // table size - 1, enable bit clear
  EXPECT_EQ(f.cfg_read(0x04, 2), 0u);
  EXPECT_EQ(f.cfg_read(0x3c, 2), 0x010au);     // the INTx routing survives
  EXPECT_TRUE(f.ioevents.snapshot().empty());  // decoding is off: no ioeventfd
}

TEST(VirtioPci, DestructionResetsTheDevice) {
  auto f = std::make_unique<Fixture>();
  f->negotiate(kDriverFeatures);
  f->setup_queue(0, 64, f->q0.layout(), 0);
  f->driver_ok();
  f->transport->reset();
  EXPECT_EQ(f->device->queues.size(), 0u);
  EXPECT_EQ(f->transport->status(), 0);
}

}  // namespace
}  // namespace vmkit
