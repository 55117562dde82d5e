#include "virtio/virtqueue.h"

#include <gtest/gtest.h>

#include <limits>

#include "fake_driver.h"
#include "virtio/virtio_spec.h"

namespace vmkit {
namespace {

using testing::FakeQueueDriver;
using virtio::kDescFlagIndirect;
using virtio::kDescFlagNext;
using virtio::kDescFlagWrite;

constexpr uint64_t kAllFeatures =
    virtio::kFeatureVersion1 | virtio::kFeatureEventIdx | virtio::kFeatureIndirectDesc;
constexpr uint64_t kHole = 0x100000;  // RAM: [0, 1 MiB) and [2 MiB, 2 MiB + 64 KiB)

GuestMemory make_memory() {
  return GuestMemory::create({{GuestAddress(0), 0x100000}, {GuestAddress(0x200000), 0x10000}})
      .value();
}

struct Fixture {
  explicit Fixture(uint16_t size = 16, uint64_t features = kAllFeatures)
      : mem(make_memory()),
        driver(mem, size, GuestAddress(0x1000), GuestAddress(0x10000), 0x80000),
        queue(VirtQueue::create(mem, driver.layout(), 256, features).value()) {}
  GuestMemory mem;
  FakeQueueDriver driver;
  VirtQueue queue;
  DescriptorChain chain;

  // Pops and expects a driver error mentioning `what`.
  void expect_broken(const std::string& what) {
    auto r = queue.pop(chain);
    ASSERT_FALSE(r.ok()) << "expected an error about " << what;
    EXPECT_NE(r.error().message().find(what), std::string::npos) << r.error().message();
    EXPECT_TRUE(queue.broken());
    EXPECT_FALSE(queue.pop(chain).ok());  // stays broken, never spins
  }
};

TEST(VirtQueue, PopsAChainAndReturnsIt) {
  Fixture f;
  std::vector<uint8_t> header{1, 2, 3, 4};
  uint16_t head = f.driver.chain().readable(header).writable(100).writable(1).publish();
  ASSERT_TRUE(f.queue.pop(f.chain).value());
  EXPECT_EQ(f.chain.head(), head);
  ASSERT_EQ(f.chain.descriptors().size(), 3u);
  EXPECT_EQ(f.chain.readable().size(), 1u);
  EXPECT_EQ(f.chain.writable().size(), 2u);
  EXPECT_EQ(f.chain.readable_bytes(), 4u);
  EXPECT_EQ(f.chain.writable_bytes(), 101u);
  EXPECT_FALSE(f.queue.pop(f.chain).value());  // empty now

  ASSERT_TRUE(f.queue.add_used(head, 42).ok());
  auto used = f.driver.pop_used();
  ASSERT_TRUE(used);
  EXPECT_EQ(used->id, head);
  EXPECT_EQ(used->len, 42u);
  EXPECT_FALSE(f.driver.pop_used());
}

TEST(VirtQueue, EmptyRing) {
  Fixture f;
  EXPECT_FALSE(f.queue.pop(f.chain).value());
  EXPECT_FALSE(f.queue.broken());
}

TEST(VirtQueue, IndicesWrapAround) {
  Fixture f(4);
  for (int i = 0; i < 70000; ++i) {
    f.driver.reset_pool();
    uint16_t head = f.driver.chain().writable(8).publish();
    ASSERT_TRUE(f.queue.pop(f.chain).value()) << i;
    ASSERT_TRUE(f.queue.add_used(head, 8).ok());
    ASSERT_TRUE(f.driver.pop_used());
  }
  EXPECT_EQ(f.queue.last_avail_idx(), static_cast<uint16_t>(70000));
}

TEST(VirtQueue, AvailIndexTooFarAheadIsADriverError) {
  Fixture f;
  f.driver.set_avail_idx(17);  // 17 > size 16
  f.expect_broken("ahead of the device");
}

TEST(VirtQueue, HeadOutsideTheTable) {
  Fixture f;
  f.driver.publish(16);
  f.expect_broken("names descriptor 16");
}

TEST(VirtQueue, BufferOutsideGuestRam) {
  Fixture f;
  f.driver.chain().raw(kHole + 0x100, 16, 0).publish();  // in the hole
  f.expect_broken("not inside guest RAM");
}

TEST(VirtQueue, BufferStraddlingTheEndOfRam) {
  Fixture f;
  f.driver.chain().raw(0xfff00, 0x200, kDescFlagWrite).publish();
  f.expect_broken("not inside guest RAM");
}

TEST(VirtQueue, OverflowingLength) {
  Fixture f;
  f.driver.chain().raw(std::numeric_limits<uint64_t>::max() - 8, 0xffffffff, 0).publish();
  f.expect_broken("not inside guest RAM");
}

TEST(VirtQueue, ZeroLengthBufferAnywhereIsHarmless) {
  Fixture f;
  f.driver.chain().raw(0xdead00000000, 0, 0).writable(4).publish();
  ASSERT_TRUE(f.queue.pop(f.chain).value());
  EXPECT_EQ(f.chain.readable_bytes(), 0u);
}

TEST(VirtQueue, LoopInTheTable) {
  Fixture f;
  f.driver.write_desc(0, {0x20000, 16, kDescFlagNext, 1});
  f.driver.write_desc(1, {0x20000, 16, kDescFlagNext, 0});
  f.driver.publish(0);
  f.expect_broken("loops");
}

TEST(VirtQueue, SelfLoop) {
  Fixture f;
  f.driver.write_desc(3, {0x20000, 16, kDescFlagNext | kDescFlagWrite, 3});
  f.driver.publish(3);
  f.expect_broken("loops");
}

TEST(VirtQueue, NextOutsideTheTable) {
  Fixture f;
  f.driver.write_desc(0, {0x20000, 16, kDescFlagNext, 200});
  f.driver.publish(0);
  f.expect_broken("outside a table");
}

TEST(VirtQueue, IndirectChain) {
  Fixture f;
  std::vector<uint8_t> header(16, 7);
  uint16_t head = f.driver.chain().indirect().readable(header).writable(512).writable(1).publish();
  ASSERT_TRUE(f.queue.pop(f.chain).value());
  EXPECT_EQ(f.chain.head(), head);
  EXPECT_EQ(f.chain.descriptors().size(), 3u);
  EXPECT_EQ(f.chain.readable_bytes(), 16u);
  EXPECT_EQ(f.chain.writable_bytes(), 513u);
}

TEST(VirtQueue, DirectDescriptorsThenIndirect) {
  Fixture f;
  std::vector<uint8_t> header(16, 7);
  f.driver.chain().readable(header).indirect().writable(8).writable(1).publish();
  ASSERT_TRUE(f.queue.pop(f.chain).value());
  EXPECT_EQ(f.chain.descriptors().size(), 3u);
}

TEST(VirtQueue, IndirectTableLongerThanTheQueue) {
  Fixture f(4);
  auto b = f.driver.chain().indirect();
  for (int i = 0; i < 5; ++i) b.writable(8);
  b.publish();
  f.expect_broken("longer than the queue");
}

TEST(VirtQueue, IndirectInsideIndirect) {
  Fixture f;
  GuestAddress inner = f.driver.alloc(32);
  f.driver.chain().indirect().raw(inner.value(), 32, kDescFlagIndirect).publish();
  f.expect_broken("indirect table inside an indirect table");
}

TEST(VirtQueue, IndirectLengthNotMultipleOf16) {
  Fixture f;
  GuestAddress table = f.driver.alloc(64);
  f.driver.chain().raw(table.value(), 40, kDescFlagIndirect).publish();
  f.expect_broken("not a non-zero multiple of 16");
}

TEST(VirtQueue, IndirectLengthZero) {
  Fixture f;
  f.driver.chain().raw(0x20000, 0, kDescFlagIndirect).publish();
  f.expect_broken("not a non-zero multiple of 16");
}

TEST(VirtQueue, IndirectTableOutsideRam) {
  Fixture f;
  f.driver.chain().raw(kHole, 64, kDescFlagIndirect).publish();
  f.expect_broken("indirect table");
}

TEST(VirtQueue, IndirectWithNext) {
  Fixture f;
  GuestAddress table = f.driver.alloc(32);
  f.driver.write_desc(0, {table.value(), 32, kDescFlagIndirect | kDescFlagNext, 1});
  f.driver.publish(0);
  f.expect_broken("indirect descriptor with NEXT");
}

TEST(VirtQueue, IndirectNotNegotiated) {
  Fixture f(16, virtio::kFeatureVersion1);
  std::vector<uint8_t> header(16, 7);
  f.driver.chain().indirect().readable(header).publish();
  f.expect_broken("not negotiated");
}

TEST(VirtQueue, LoopInsideIndirectTable) {
  Fixture f;
  GuestAddress table = f.driver.alloc(32);
  f.driver.write_desc_at(table, 0, {0x20000, 8, kDescFlagNext, 1});
  f.driver.write_desc_at(table, 1, {0x20000, 8, kDescFlagNext, 0});
  f.driver.chain().raw(table.value(), 32, kDescFlagIndirect).publish();
  f.expect_broken("loops");
}

TEST(VirtQueue, ReadableAfterWritable) {
  Fixture f;
  std::vector<uint8_t> data(8, 1);
  f.driver.chain().writable(8).readable(data).publish();
  f.expect_broken("device-readable buffer after a device-writable one");
}

TEST(VirtQueue, WriteFlagOfIndirectPointerIsIgnored) {
  Fixture f;
  std::vector<uint8_t> data(8, 1);
  GuestAddress table = f.driver.alloc(16);
  GuestAddress buf = f.driver.alloc(8);
  f.driver.write_desc_at(table, 0, {buf.value(), 8, 0, 0});
  f.driver.chain().raw(table.value(), 16, kDescFlagIndirect | kDescFlagWrite).publish();
  ASSERT_TRUE(f.queue.pop(f.chain).value());
  EXPECT_EQ(f.chain.readable().size(), 1u);
}

TEST(VirtQueue, CreateValidatesTheLayout) {
  GuestMemory mem = make_memory();
  QueueLayout ok{16, GuestAddress(0x1000), GuestAddress(0x1100), GuestAddress(0x1200)};
  EXPECT_TRUE(VirtQueue::create(mem, ok, 256, 0).ok());
  QueueLayout l = ok;
  l.size = 100;  // not a power of two
  EXPECT_FALSE(VirtQueue::create(mem, l, 256, 0).ok());
  l.size = 0;
  EXPECT_FALSE(VirtQueue::create(mem, l, 256, 0).ok());
  l.size = 512;  // above the device's maximum
  EXPECT_FALSE(VirtQueue::create(mem, l, 256, 0).ok());
  l = ok;
  l.desc = GuestAddress(0x1008);  // descriptor table needs 16-byte alignment
  EXPECT_FALSE(VirtQueue::create(mem, l, 256, 0).ok());
  l = ok;
  l.avail = GuestAddress(0x1101);
  EXPECT_FALSE(VirtQueue::create(mem, l, 256, 0).ok());
  l = ok;
  l.used = GuestAddress(0x1202);
  EXPECT_FALSE(VirtQueue::create(mem, l, 256, 0).ok());
  l = ok;
  l.used = GuestAddress(0xfff80);  // runs past the end of RAM
  EXPECT_FALSE(VirtQueue::create(mem, l, 256, 0).ok());
  l = ok;
  l.desc = GuestAddress(std::numeric_limits<uint64_t>::max() - 15);
  EXPECT_FALSE(VirtQueue::create(mem, l, 256, 0).ok());
}

TEST(VirtQueue, NoInterruptFlagWithoutEventIdx) {
  Fixture f(16, virtio::kFeatureVersion1);
  uint16_t head = f.driver.chain().writable(4).publish();
  ASSERT_TRUE(f.queue.pop(f.chain).value());
  ASSERT_TRUE(f.queue.add_used(head, 0).ok());
  EXPECT_TRUE(f.queue.needs_interrupt());
  f.driver.set_avail_flags(virtio::kAvailFlagNoInterrupt);
  EXPECT_FALSE(f.queue.needs_interrupt());
}

TEST(VirtQueue, EventIdxSuppressesInterrupts) {
  Fixture f;
  // Four requests; the driver wants an interrupt only once the used ring reaches index 3.
  std::vector<uint16_t> heads;
  for (int i = 0; i < 4; ++i) heads.push_back(f.driver.chain().writable(4).publish());
  f.driver.set_used_event(2);  // interrupt when entry 2 (the third) is used
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(f.queue.pop(f.chain).value());

  ASSERT_TRUE(f.queue.add_used(heads[0], 0).ok());
  EXPECT_TRUE(f.queue.needs_interrupt());  // the first check always signals
  ASSERT_TRUE(f.queue.add_used(heads[1], 0).ok());
  EXPECT_FALSE(f.queue.needs_interrupt());  // used idx 2: event 2 not crossed yet
  ASSERT_TRUE(f.queue.add_used(heads[2], 0).ok());
  EXPECT_TRUE(f.queue.needs_interrupt());  // entry 2 written
  ASSERT_TRUE(f.queue.add_used(heads[3], 0).ok());
  EXPECT_FALSE(f.queue.needs_interrupt());
  EXPECT_FALSE(f.queue.needs_interrupt());  // nothing new
}

TEST(VirtQueue, EnableNotificationPublishesAvailEvent) {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.driver.chain().writable(4).publish();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(f.queue.pop(f.chain).value());
  EXPECT_FALSE(f.queue.enable_notification().value());
  EXPECT_EQ(f.driver.avail_event(), 3);
  f.driver.chain().writable(4).publish();
  EXPECT_TRUE(f.queue.enable_notification().value());  // arrived meanwhile
}

}  // namespace
}  // namespace vmkit
