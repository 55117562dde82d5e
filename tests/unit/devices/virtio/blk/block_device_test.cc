#include "devices/virtio/blk/block_device.h"
#include "devices/virtio/blk/block_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "fake_driver.h"
#include "fake_interrupt.h"
#include "memory_disk.h"
#include "virtio/virtio_spec.h"

namespace vmkit {
namespace {

using testing::FakeQueueDriver;
using testing::MemoryDisk;

constexpr uint64_t kRingFeatures =
    virtio::kFeatureVersion1 | virtio::kFeatureEventIdx | virtio::kFeatureIndirectDesc;

std::vector<uint8_t> header(uint32_t type, uint64_t sector) {
  blk::RequestHeader h{type, 0, sector};
  std::vector<uint8_t> out(sizeof(h));
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

// True while a thread of this process has that name.
bool thread_named(const std::string& name) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) return true;
  }
  return false;
}

struct Harness {
  explicit Harness(uint16_t queues = 1, bool read_only = false, std::string serial = "")
      : mem(GuestMemory::create({{GuestAddress(0), 0x400000}}).value()),
        disk(std::make_shared<MemoryDisk>(0x100000)) {
    BlockDeviceParams params;
    params.image = disk;
    params.read_only = read_only;
    params.serial = std::move(serial);
    params.num_queues = queues;
    params.queue_size = 64;
    dev = BlockDevice::create(params).value();
    for (uint16_t q = 0; q < queues; ++q) {
      kicks.push_back(EventFd::create().value());
      drivers.push_back(
          std::make_unique<FakeQueueDriver>(mem, 64, GuestAddress(0x1000 + 0x2000ull * q),
                                            GuestAddress(0x100000 + 0x40000ull * q), 0x40000));
    }
  }
  ~Harness() { dev->reset(); }

  void activate(uint64_t features) {
    VirtioActivation a;
    a.memory = &mem;
    a.interrupt = &irq;
    a.features = features;
    for (uint16_t q = 0; q < drivers.size(); ++q) {
      a.queues.push_back(ActiveQueue{
          q, VirtQueue::create(mem, drivers[q]->layout(), 64, features).value(), &kicks[q]});
    }
    ASSERT_TRUE(dev->activate(std::move(a)).ok());
  }
  void activate() { activate(kRingFeatures | dev->device_features()); }
  void kick(uint16_t q = 0) { ASSERT_TRUE(kicks[q].signal().ok()); }
  // Waits until the device has returned `n` chains on queue q in total.
  bool wait_used(uint16_t n, uint16_t q = 0) {
    return irq.wait_until([&] { return drivers[q]->used_idx() == n; });
  }
  uint8_t status_at(GuestAddress a) { return mem.read_obj<uint8_t>(a).value(); }

  GuestMemory mem;
  std::shared_ptr<MemoryDisk> disk;
  std::unique_ptr<BlockDevice> dev;
  testing::FakeInterrupt irq;
  std::vector<EventFd> kicks;
  std::vector<std::unique_ptr<FakeQueueDriver>> drivers;
};

TEST(BlockDevice, FeaturesAndConfig) {
  Harness h(4, false, "SER");
  uint64_t f = h.dev->device_features();
  EXPECT_TRUE(f & blk::kFeatureFlush);
  EXPECT_TRUE(f & blk::kFeatureMq);
  EXPECT_TRUE(f & blk::kFeatureDiscard);
  EXPECT_TRUE(f & blk::kFeatureWriteZeroes);
  EXPECT_FALSE(f & blk::kFeatureRo);
  EXPECT_EQ(h.dev->queue_max_sizes(), std::vector<uint16_t>(4, 64));
  EXPECT_EQ(h.dev->config_size(), 72u);
  blk::Config c;
  h.dev->read_config(0, std::span(reinterpret_cast<uint8_t*>(&c), sizeof(c)));
  EXPECT_EQ(c.capacity, 2048u);
  EXPECT_EQ(c.seg_max, 62u);
  EXPECT_EQ(c.blk_size, 512u);
  EXPECT_EQ(c.num_queues, 4);
  EXPECT_EQ(c.max_discard_seg, 1u);
  EXPECT_EQ(c.discard_sector_alignment, 8u);
  EXPECT_EQ(c.write_zeroes_may_unmap, 1);
  uint16_t nq = 0;
  h.dev->read_config(34, std::span(reinterpret_cast<uint8_t*>(&nq), 2));  // one field
  EXPECT_EQ(nq, 4);
}

TEST(BlockDevice, CreateRefusesBadParameters) {
  auto disk = std::make_shared<MemoryDisk>(4096);
  EXPECT_FALSE(BlockDevice::create({}).ok());
  EXPECT_FALSE(BlockDevice::create({disk, false, "", 0, 256}).ok());
  EXPECT_FALSE(BlockDevice::create({disk, false, "", 65, 256}).ok());
  EXPECT_FALSE(BlockDevice::create({disk, false, "", 1, 100}).ok());
  EXPECT_FALSE(BlockDevice::create({disk, false, "", 1, 2048}).ok());
  EXPECT_FALSE(BlockDevice::create({disk, false, std::string(21, 'x'), 1, 256}).ok());
  EXPECT_TRUE(BlockDevice::create({disk, false, std::string(20, 'x'), 1, 256}).ok());
}

TEST(BlockDevice, WriteThenReadBack) {
  Harness h;
  h.activate();
  auto data = pattern(4096, 3);
  GuestAddress status;
  uint16_t w = h.drivers[0]
                   ->chain()
                   .readable(header(blk::kTypeOut, 8))
                   .readable(data)
                   .writable(1, &status)
                   .publish();
  h.kick();
  ASSERT_TRUE(h.wait_used(1));
  auto used = h.drivers[0]->pop_used().value();
  EXPECT_EQ(used.id, w);
  EXPECT_EQ(used.len, 1u);
  EXPECT_EQ(h.status_at(status), blk::kStatusOk);
  EXPECT_EQ(h.disk->contents(4096, 4096), data);

  GuestAddress buf, rstatus;
  h.drivers[0]
      ->chain()
      .indirect()
      .readable(header(blk::kTypeIn, 8))
      .writable(2048, &buf)
      .writable(2048)
      .writable(1, &rstatus)
      .publish();
  h.kick();
  ASSERT_TRUE(h.wait_used(2));
  used = h.drivers[0]->pop_used().value();
  EXPECT_EQ(used.len, 4097u);
  EXPECT_EQ(h.status_at(rstatus), blk::kStatusOk);
  EXPECT_EQ(h.drivers[0]->read(buf, 4096), data);  // the two buffers are contiguous
  EXPECT_GE(h.irq.used[0].load(), 1);
}

// One queue on a memory disk, driven by hand (no thread) through process_notify() and
// process_completions().
struct HandDrivenQueue {
  explicit HandDrivenQueue(uint64_t poll_max_ns = 0)
      : mem(GuestMemory::create({{GuestAddress(0), 0x400000}}).value()),
        disk(0x100000),
        driver(mem, 64, GuestAddress(0x1000), GuestAddress(0x100000), 0x80000),
        kick(EventFd::create().value()) {
    BlockQueueContext context;
    context.memory = &mem;
    context.interrupt = &irq;
    context.limits.capacity_sectors = disk.virtual_size() / 512;
    context.poll_max_ns = poll_max_ns;
    auto queue = VirtQueue::create(mem, driver.layout(), 64, kRingFeatures).value();
    bq = BlockQueue::create(ActiveQueue{0, std::move(queue), &kick}, context, disk).value();
  }

  GuestMemory mem;
  MemoryDisk disk;
  FakeQueueDriver driver;
  testing::FakeInterrupt irq;
  EventFd kick;
  std::unique_ptr<BlockQueue> bq;
};

// Driven by hand, without its thread: after a round of large transfers, what the disk finished
// inside the submit call (the memory disk, like io_uring on cached data, completes there) goes
// back to the guest from process_notify() itself; small requests wait for the completion event.
TEST(BlockQueue, LargeTransfersFinishedInTheSubmitGoBackAtOnce) {
  HandDrivenQueue h;
  GuestMemory& mem = h.mem;
  FakeQueueDriver& driver = h.driver;
  std::unique_ptr<BlockQueue>& bq = h.bq;
  GuestAddress status;
  driver.chain().readable(header(blk::kTypeIn, 0)).writable(4096).writable(1, &status).publish();
  bq->process_notify();
  EXPECT_EQ(bq->in_flight(), 1u);  // small: waits for the completion event
  EXPECT_EQ(driver.used_idx(), 0);
  bq->process_completions();
  EXPECT_EQ(driver.used_idx(), 1);
  EXPECT_EQ(mem.read_obj<uint8_t>(status).value(), blk::kStatusOk);

  GuestAddress large_status;
  driver.chain()
      .readable(header(blk::kTypeIn, 0))
      .writable(0x40000)
      .writable(1, &large_status)
      .publish();
  bq->process_notify();
  EXPECT_EQ(bq->in_flight(), 0u);
  EXPECT_EQ(driver.used_idx(), 2);
  EXPECT_EQ(mem.read_obj<uint8_t>(large_status).value(), blk::kStatusOk);
  bq->stop();
}

// With polling on, the queue looks for new requests after a batch before it re-enables the
// driver's notifications: a request made available meanwhile is served in the same pass, and
// the driver, seeing avail_event behind, does not notify for it. Polling starts when a
// notification comes within the window of the thread going to sleep and stops after
// kPollMisses empty windows in a row.
TEST(BlockQueue, PollingServesRequestsWithoutNotifications) {
  constexpr auto kWindow = std::chrono::milliseconds(20);  // long enough for a loaded machine
  HandDrivenQueue h(std::chrono::nanoseconds(kWindow).count());
  GuestMemory& mem = h.mem;
  FakeQueueDriver& driver = h.driver;
  std::unique_ptr<BlockQueue>& bq = h.bq;

  bq->process_notify();  // nothing there: the thread "sleeps"
  EXPECT_FALSE(bq->polling());
  bq->process_notify();  // back at once: polling pays
  EXPECT_TRUE(bq->polling());

  GuestAddress first_status, second_status;
  driver.chain()
      .readable(header(blk::kTypeIn, 0))
      .writable(4096)
      .writable(1, &first_status)
      .publish();
  uint16_t second = driver.chain()
                        .readable(header(blk::kTypeIn, 8))
                        .writable(4096)
                        .writable(1, &second_status)
                        .build();
  std::atomic<bool> would_notify{true};
  std::thread guest([&] {
    // Once the first request is back (returned while the queue polls), the second one.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (driver.used_idx() < 1 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    uint16_t old_idx = driver.avail_idx();
    driver.publish(second);
    uint16_t new_idx = driver.avail_idx();
    // The driver's vring_need_event().
    would_notify = static_cast<uint16_t>(new_idx - driver.avail_event() - 1) <
                   static_cast<uint16_t>(new_idx - old_idx);
  });
  bq->process_notify();
  guest.join();
  EXPECT_FALSE(would_notify);
  EXPECT_EQ(driver.used_idx(), 2);
  EXPECT_EQ(mem.read_obj<uint8_t>(first_status).value(), blk::kStatusOk);
  EXPECT_EQ(mem.read_obj<uint8_t>(second_status).value(), blk::kStatusOk);
  EXPECT_EQ(bq->in_flight(), 0u);
  EXPECT_EQ(driver.avail_event(), driver.avail_idx());  // notifications on again after the pass

  // Empty windows turn polling off; a notification after a longer sleep leaves it off.
  for (int i = 0; i < BlockQueue::kPollMisses && bq->polling(); ++i) bq->process_notify();
  EXPECT_FALSE(bq->polling());
  std::this_thread::sleep_for(kWindow + std::chrono::milliseconds(5));
  bq->process_notify();
  EXPECT_FALSE(bq->polling());
  bq->stop();
}

TEST(BlockDevice, FlushCompletesOnlyAfterTheDisk) {
  Harness h;
  h.activate();
  h.disk->set_deferred(true);
  GuestAddress ws, fs;
  h.drivers[0]
      ->chain()
      .readable(header(blk::kTypeOut, 0))
      .readable(pattern(512, 1))
      .writable(1, &ws)
      .publish();
  h.drivers[0]->chain().readable(header(blk::kTypeFlush, 0)).writable(1, &fs).publish();
  h.kick();
  ASSERT_TRUE(h.irq.wait_until([&] { return h.disk->held() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(h.drivers[0]->used_idx(), 0);  // the guest has been told nothing
  EXPECT_EQ(h.disk->flushes(), 0);
  h.disk->release_all();
  ASSERT_TRUE(h.wait_used(2));
  EXPECT_EQ(h.disk->flushes(), 1);
  EXPECT_EQ(h.status_at(fs), blk::kStatusOk);
  EXPECT_EQ(h.disk->ops(), (std::vector<IoOp>{IoOp::kWrite, IoOp::kFlush}));
}

TEST(BlockDevice, ReadOnlyDisk) {
  Harness h(1, /*read_only=*/true);
  uint64_t f = h.dev->device_features();
  EXPECT_TRUE(f & blk::kFeatureRo);
  EXPECT_FALSE(f & blk::kFeatureDiscard);
  EXPECT_FALSE(f & blk::kFeatureWriteZeroes);
  h.activate();
  GuestAddress status;
  h.drivers[0]
      ->chain()
      .readable(header(blk::kTypeOut, 0))
      .readable(pattern(512, 9))
      .writable(1, &status)
      .publish();
  h.kick();
  ASSERT_TRUE(h.wait_used(1));
  EXPECT_EQ(h.status_at(status), blk::kStatusIoErr);
  EXPECT_EQ(h.disk->contents(0, 512), std::vector<uint8_t>(512, 0));
  EXPECT_TRUE(h.disk->ops().empty());  // never reached the disk
}

TEST(BlockDevice, ReadOnlyImageMakesAReadOnlyDevice) {
  auto disk = std::make_shared<MemoryDisk>(4096, /*read_only=*/true);
  auto dev = BlockDevice::create({disk, false, "", 1, 64}).value();
  EXPECT_TRUE(dev->read_only());
  EXPECT_TRUE(dev->device_features() & blk::kFeatureRo);
}

TEST(BlockDevice, GetIdReturnsTheSerial) {
  Harness h(1, false, "vmkit-disk-0");
  h.activate();
  GuestAddress id, status;
  h.drivers[0]
      ->chain()
      .readable(header(blk::kTypeGetId, 0))
      .writable(20, &id)
      .writable(1, &status)
      .publish();
  h.kick();
  ASSERT_TRUE(h.wait_used(1));
  std::vector<uint8_t> want(20, 0);
  std::memcpy(want.data(), "vmkit-disk-0", 12);
  EXPECT_EQ(h.drivers[0]->read(id, 20), want);
  EXPECT_EQ(h.status_at(status), blk::kStatusOk);
  EXPECT_EQ(h.drivers[0]->pop_used()->len, 21u);
}

TEST(BlockDevice, DiscardAndWriteZeroes) {
  Harness h;
  h.activate();
  h.disk->fill(0, pattern(8192, 5));
  blk::DiscardSegment seg{2, 4, 0};
  std::vector<uint8_t> payload = header(blk::kTypeDiscard, 0);
  payload.resize(32);
  std::memcpy(payload.data() + 16, &seg, 16);
  GuestAddress s1, s2;
  h.drivers[0]->chain().readable(payload).writable(1, &s1).publish();
  seg = {10, 2, blk::kDiscardFlagUnmap};
  blk::RequestHeader wz{blk::kTypeWriteZeroes, 0, 0};
  std::memcpy(payload.data(), &wz, 16);
  std::memcpy(payload.data() + 16, &seg, 16);
  h.drivers[0]->chain().readable(payload).writable(1, &s2).publish();
  h.kick();
  ASSERT_TRUE(h.wait_used(2));
  EXPECT_EQ(h.status_at(s1), blk::kStatusOk);
  EXPECT_EQ(h.status_at(s2), blk::kStatusOk);
  EXPECT_EQ(h.disk->contents(1024, 2048), std::vector<uint8_t>(2048, 0));
  EXPECT_EQ(h.disk->contents(5120, 1024), std::vector<uint8_t>(1024, 0));
  auto before = pattern(8192, 5);
  EXPECT_EQ(h.disk->contents(0, 1024), std::vector<uint8_t>(before.begin(), before.begin() + 1024));
  EXPECT_EQ(h.disk->contents(3072, 2048),
            std::vector<uint8_t>(before.begin() + 3072, before.begin() + 5120));
}

TEST(BlockDevice, BackendErrorsBecomeIoErr) {
  Harness h;
  h.activate();
  h.disk->fail_next(EIO);
  GuestAddress status;
  h.drivers[0]
      ->chain()
      .readable(header(blk::kTypeIn, 0))
      .writable(512)
      .writable(1, &status)
      .publish();
  h.kick();
  ASSERT_TRUE(h.wait_used(1));
  EXPECT_EQ(h.status_at(status), blk::kStatusIoErr);
  EXPECT_EQ(h.drivers[0]->pop_used()->len, 1u);
  // A backend without discard support: UNSUPP.
  h.disk->fail_next(EOPNOTSUPP);
  std::vector<uint8_t> payload = header(blk::kTypeDiscard, 0);
  payload.resize(32);
  blk::DiscardSegment seg{0, 8, 0};
  std::memcpy(payload.data() + 16, &seg, 16);
  h.drivers[0]->chain().readable(payload).writable(1, &status).publish();
  h.kick();
  ASSERT_TRUE(h.wait_used(2));
  EXPECT_EQ(h.status_at(status), blk::kStatusUnsupp);
}

TEST(BlockDevice, BadRequestsGetAStatusAndTheDeviceGoesOn) {
  Harness h;
  h.activate();
  GuestAddress s1, s2;
  h.drivers[0]->chain().readable(header(77, 0)).writable(1, &s1).publish();
  h.drivers[0]
      ->chain()
      .readable(header(blk::kTypeIn, 1u << 30))
      .writable(512)
      .writable(1, &s2)
      .publish();
  h.drivers[0]->chain().readable(header(blk::kTypeFlush, 0)).publish();  // no status byte
  h.kick();
  ASSERT_TRUE(h.wait_used(3));
  EXPECT_EQ(h.status_at(s1), blk::kStatusUnsupp);
  EXPECT_EQ(h.status_at(s2), blk::kStatusIoErr);
  h.drivers[0]->pop_used();
  h.drivers[0]->pop_used();
  EXPECT_EQ(h.drivers[0]->pop_used()->len, 0u);
  EXPECT_EQ(h.irq.device_errors.load(), 0);
}

TEST(BlockDevice, BrokenRingAsksForReset) {
  Harness h;
  h.activate();
  h.drivers[0]->set_avail_idx(1000);
  h.kick();
  ASSERT_TRUE(h.irq.wait_until([&] { return h.irq.device_errors.load() == 1; }));
  h.kick();  // further notifications are ignored
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(h.irq.device_errors.load(), 1);
  EXPECT_EQ(h.drivers[0]->used_idx(), 0);
}

TEST(BlockDevice, DescriptorOutsideRamAsksForReset) {
  Harness h;
  h.activate();
  h.drivers[0]
      ->chain()
      .readable(header(blk::kTypeIn, 0))
      .raw(0x10000000, 512, 2)
      .writable(1)
      .publish();
  h.kick();
  ASSERT_TRUE(h.irq.wait_until([&] { return h.irq.device_errors.load() == 1; }));
}

TEST(BlockDevice, ChainReusedWhileInFlight) {
  Harness h;
  h.activate();
  h.disk->set_deferred(true);
  uint16_t head =
      h.drivers[0]->chain().readable(header(blk::kTypeIn, 0)).writable(512).writable(1).publish();
  h.kick();
  ASSERT_TRUE(h.irq.wait_until([&] { return h.disk->held() == 1; }));
  h.drivers[0]->publish(head);  // the same chain again
  h.kick();
  ASSERT_TRUE(h.irq.wait_until([&] { return h.irq.device_errors.load() == 1; }));
  h.disk->release_all();
  ASSERT_TRUE(h.wait_used(1));  // the first one still completes
}

TEST(BlockDevice, ResetWaitsForInFlightRequestsAndLeavesTheRingsAlone) {
  Harness h;
  h.activate();
  h.disk->set_deferred(true);
  GuestAddress status;
  h.drivers[0]
      ->chain()
      .readable(header(blk::kTypeIn, 0))
      .writable(512)
      .writable(1, &status)
      .publish();
  ASSERT_TRUE(h.mem.write_obj<uint8_t>(status, 0xee).ok());
  h.kick();
  ASSERT_TRUE(h.irq.wait_until([&] { return h.disk->held() == 1; }));
  ASSERT_TRUE(thread_named("blk-q0"));
  auto reset = std::async(std::launch::async, [&] { h.dev->reset(); });
  // Once the I/O thread is gone, reset() is waiting for the disk.
  ASSERT_TRUE(h.irq.wait_until([] { return !thread_named("blk-q0"); }));
  EXPECT_EQ(reset.wait_for(std::chrono::milliseconds(20)), std::future_status::timeout);
  h.disk->release_all();
  ASSERT_EQ(reset.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(h.drivers[0]->used_idx(), 0);  // nothing written after the reset began
  EXPECT_EQ(h.status_at(status), 0xee);
  // And it comes back.
  h.disk->set_deferred(false);
  for (auto& d : h.drivers) {
    d = std::make_unique<FakeQueueDriver>(h.mem, 64, d->layout().desc, GuestAddress(0x300000),
                                          0x10000);
  }
  h.activate();
  h.drivers[0]->chain().readable(header(blk::kTypeFlush, 0)).writable(1).publish();
  h.kick();
  ASSERT_TRUE(h.wait_used(1));
}

TEST(BlockDevice, MultiQueue) {
  Harness h(4);
  h.activate();
  for (uint16_t q = 0; q < 4; ++q) {
    for (unsigned i = 0; i < 8; ++i) {
      h.drivers[q]
          ->chain()
          .readable(header(blk::kTypeOut, q * 64u + i * 8u))
          .readable(pattern(4096, static_cast<uint8_t>(q * 8 + i)))
          .writable(1)
          .publish();
    }
    h.kick(q);
  }
  for (uint16_t q = 0; q < 4; ++q) {
    ASSERT_TRUE(h.wait_used(8, q)) << q;
    EXPECT_GE(h.irq.used[q].load(), 1);
    for (unsigned i = 0; i < 8; ++i) {
      EXPECT_EQ(h.disk->contents((q * 64u + i * 8u) * 512, 4096),
                pattern(4096, static_cast<uint8_t>(q * 8 + i)));
    }
  }
}

TEST(BlockDevice, EventIdxSuppressesInterrupts) {
  Harness h;
  h.activate();
  h.drivers[0]->set_used_event(10);  // "interrupt me when entry 10 is used"
  h.drivers[0]->chain().readable(header(blk::kTypeFlush, 0)).writable(1).publish();
  h.kick();
  ASSERT_TRUE(h.wait_used(1));
  ASSERT_TRUE(h.irq.wait_until([&] { return h.irq.used[0].load() == 1; }));  // the first: always
  for (int i = 0; i < 3; ++i) {
    h.drivers[0]->chain().readable(header(blk::kTypeFlush, 0)).writable(1).publish();
    h.kick();
    ASSERT_TRUE(h.wait_used(static_cast<uint16_t>(2 + i)));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(h.irq.used[0].load(), 1);  // used idx 4 has not reached used_event 10
  // avail_event tells the driver to notify for the next buffer.
  EXPECT_EQ(h.drivers[0]->avail_event(), 4);
}

TEST(BlockDevice, BuffersMadeAvailableBeforeActivation) {
  Harness h;
  h.drivers[0]->chain().readable(header(blk::kTypeFlush, 0)).writable(1).publish();
  h.activate();  // no kick
  ASSERT_TRUE(h.wait_used(1));
}

}  // namespace
}  // namespace vmkit
