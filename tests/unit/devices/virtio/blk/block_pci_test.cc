// virtio-blk end to end through the virtio-pci transport, as the vmm wires it: a PCI root on
// an MMIO bus, MSI-X through a platform MsiController, notifications through the bus or
// through an eventfd the platform registered (what KVM's ioeventfd does), the device's I/O
// thread, a memory disk. The test is the guest driver.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <functional>
#include <thread>

#include "devices/virtio/blk/block_device.h"
#include "fake_driver.h"
#include "memory_disk.h"
#include "pci/testing/fake_platform.h"
#include "pci_driver.h"
#include "virtio/pci_transport.h"

namespace vmkit {
namespace {

std::vector<uint8_t> header(uint32_t type, uint64_t sector) {
  blk::RequestHeader h{type, 0, sector};
  std::vector<uint8_t> out(sizeof(h));
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

struct Vm {
  explicit Vm(bool ioeventfd) {
    disk = std::make_shared<testing::MemoryDisk>(1 << 20);
    auto dev = BlockDevice::create({disk, false, "e2e", 2, 64}).value();
    VirtioPciPlatform platform{&mem, &msi, ioeventfd ? &ioevents : nullptr};
    transport = VirtioPciDevice::create(std::move(dev), platform).value();
    slot = root.attach(transport).value();
    driver = std::make_unique<testing::VirtioPciTestDriver>(root, mmio, slot);
  }
  ~Vm() { root.reset(); }

  GuestMemory mem = GuestMemory::create({{GuestAddress(0), 0x800000}}).value();
  testing::FakeMsiController msi;
  testing::FakeIoEventRegistrar ioevents;
  Bus mmio{"mmio"};
  PciRoot root{mmio, PciWindows{{0xc0000000, 0x20000000}, {0x4000000000, 0x40000000}}};
  std::shared_ptr<testing::MemoryDisk> disk;
  std::shared_ptr<VirtioPciDevice> transport;
  uint8_t slot = 0;
  std::unique_ptr<testing::VirtioPciTestDriver> driver;
  std::unique_ptr<testing::FakeQueueDriver> q0 = std::make_unique<testing::FakeQueueDriver>(
      mem, 64, GuestAddress(0x1000), GuestAddress(0x100000), 0x100000);
  std::unique_ptr<testing::FakeQueueDriver> q1 = std::make_unique<testing::FakeQueueDriver>(
      mem, 64, GuestAddress(0x4000), GuestAddress(0x200000), 0x100000);
};

bool wait_for(const std::function<bool()>& done) {
  for (int i = 0; i < 500 && !done(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return done();
}

void bring_up(Vm& vm) {
  auto& d = *vm.driver;
  d.enable_msix(3);
  uint64_t offered = d.device_features();
  EXPECT_TRUE(offered & blk::kFeatureMq);
  ASSERT_TRUE(d.negotiate(offered & (virtio::kFeatureVersion1 | virtio::kFeatureEventIdx |
                                     virtio::kFeatureIndirectDesc | blk::kFeatureFlush |
                                     blk::kFeatureMq | blk::kFeatureBlkSize)));
  d.set_config_vector(2);
  d.setup_queue(0, vm.q0->layout(), 0);
  d.setup_queue(1, vm.q1->layout(), 1);
  d.driver_ok();
  ASSERT_EQ(d.status() & virtio::kStatusNeedsReset, 0);
  uint64_t capacity = d.read(d.device_config(), 4) | (d.read(d.device_config() + 4, 4) << 32);
  EXPECT_EQ(capacity, 2048u);
  EXPECT_EQ(d.read(d.device_config() + 34, 2), 2u);  // num_queues
}

void write_and_read_back(Vm& vm, bool ioeventfd) {
  std::vector<uint8_t> data(4096);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i ^ 0x5a);
  GuestAddress buf;
  vm.q1->chain().readable(header(blk::kTypeOut, 40)).readable(data).writable(1).publish();
  vm.q1->chain().readable(header(blk::kTypeIn, 40)).writable(4096, &buf).writable(1).publish();
  if (ioeventfd) {
    // KVM would signal the registered eventfd for a write at this address.
    auto reg = vm.ioevents.snapshot();
    ASSERT_EQ(reg.size(), 2u);
    uint64_t one = 1;
    ASSERT_EQ(::write(reg.at(*vm.transport->notify_address(1)), &one, 8), 8);
  } else {
    vm.driver->notify(1);
  }
  ASSERT_TRUE(wait_for([&] { return vm.q1->used_idx() == 2; }));
  ASSERT_TRUE(wait_for([&] { return vm.msi.last->triggered(1) >= 1; }));  // queue 1's vector
  EXPECT_EQ(vm.msi.last->triggered(0), 0);
  EXPECT_FALSE(vm.msi.last->triggered_without_route);
  EXPECT_EQ(vm.disk->contents(40 * 512, 4096), data);
  EXPECT_EQ(vm.q1->read(buf, 4096), data);
}

TEST(BlockPci, EndToEndThroughTheBus) {
  Vm vm(false);
  bring_up(vm);
  write_and_read_back(vm, false);
}

TEST(BlockPci, EndToEndThroughIoeventfd) {
  Vm vm(true);
  bring_up(vm);
  write_and_read_back(vm, true);
}

TEST(BlockPci, BrokenRingSetsNeedsResetAndResetRecovers) {
  Vm vm(false);
  bring_up(vm);
  vm.q0->set_avail_idx(300);
  vm.driver->notify(0);
  ASSERT_TRUE(wait_for([&] { return vm.driver->status() & virtio::kStatusNeedsReset; }));
  EXPECT_GE(vm.msi.last->triggered(2), 1);  // config change interrupt
  // The driver resets and starts over with fresh rings.
  vm.driver->reset();
  vm.q0 = std::make_unique<testing::FakeQueueDriver>(vm.mem, 64, GuestAddress(0x1000),
                                                     GuestAddress(0x100000), 0x100000);
  vm.q1 = std::make_unique<testing::FakeQueueDriver>(vm.mem, 64, GuestAddress(0x4000),
                                                     GuestAddress(0x200000), 0x100000);
  bring_up(vm);
  write_and_read_back(vm, false);
}

}  // namespace
}  // namespace vmkit
