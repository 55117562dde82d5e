#include "devices/virtio/rng/rng_device.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "device_harness.h"

namespace vmkit {
namespace {

using testing::DeviceHarness;

Status fill_ab(std::span<uint8_t> out) {
  std::fill(out.begin(), out.end(), 0xab);
  return {};
}

TEST(RngDevice, Identity) {
  RngDevice dev;
  EXPECT_EQ(dev.device_type(), 4u);
  EXPECT_EQ(dev.queue_max_sizes(), std::vector<uint16_t>{64});
  EXPECT_EQ(dev.device_features(), 0u);
  EXPECT_EQ(dev.config_size(), 0u);
}

TEST(RngDevice, FillsBuffersFromGetrandom) {
  RngDevice dev;
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  GuestAddress a, b;
  uint16_t head = h.driver(0).chain().writable(64, &a).writable(32, &b).publish();
  h.kick(0);
  ASSERT_TRUE(h.wait_used(0, 1));
  auto used = h.driver(0).pop_used().value();
  EXPECT_EQ(used.id, head);
  EXPECT_EQ(used.len, 96u);
  auto bytes = h.driver(0).read(a, 64);
  EXPECT_NE(bytes, std::vector<uint8_t>(64, 0));  // 2^-512 chance of a false failure
  EXPECT_GE(h.irq.used[0].load(), 1);
}

TEST(RngDevice, UsesTheGivenSourceAndCapsRequests) {
  RngDevice dev(fill_ab);
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  GuestAddress big;
  h.driver(0).chain().writable(100 * 1024, &big).publish();
  h.kick(0);
  ASSERT_TRUE(h.wait_used(0, 1));
  EXPECT_EQ(h.driver(0).pop_used()->len, RngDevice::kMaxBytesPerRequest);
  auto bytes = h.driver(0).read(big, 100 * 1024);
  EXPECT_EQ(bytes[RngDevice::kMaxBytesPerRequest - 1], 0xab);
  EXPECT_EQ(bytes[RngDevice::kMaxBytesPerRequest], 0);  // untouched past the cap
}

TEST(RngDevice, ReadableBuffersAreIgnored) {
  RngDevice dev(fill_ab);
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  std::vector<uint8_t> junk(16, 1);
  h.driver(0).chain().readable(junk).publish();
  h.kick(0);
  ASSERT_TRUE(h.wait_used(0, 1));
  EXPECT_EQ(h.driver(0).pop_used()->len, 0u);
}

TEST(RngDevice, SourceFailureReturnsWhatWasFilled) {
  int calls = 0;
  RngDevice dev([&](std::span<uint8_t> out) -> Status {
    if (++calls > 1) return Error("entropy source gone");
    return fill_ab(out);
  });
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  h.driver(0).chain().writable(10).writable(10).publish();
  h.kick(0);
  ASSERT_TRUE(h.wait_used(0, 1));
  EXPECT_EQ(h.driver(0).pop_used()->len, 10u);
}

TEST(RngDevice, BrokenRingAsksForReset) {
  RngDevice dev(fill_ab);
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  h.driver(0).chain().raw(0x7000000000, 16, virtio::kDescFlagWrite).publish();
  h.kick(0);
  ASSERT_TRUE(h.irq.wait_until([&] { return h.irq.device_errors.load() == 1; }));
  EXPECT_EQ(h.driver(0).used_idx(), 0);
}

TEST(RngDevice, ResetAndActivateAgain) {
  RngDevice dev(fill_ab);
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  dev.reset();
  h.driver(0).chain().writable(8).publish();
  h.kick(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(h.driver(0).used_idx(), 0);  // nobody serves the queue after reset
  ASSERT_TRUE(h.activate().ok());        // the buffer is found at activation
  ASSERT_TRUE(h.wait_used(0, 1));
}

TEST(RngDevice, NoQueueEnabled) {
  RngDevice dev;
  DeviceHarness h(dev);
  EXPECT_TRUE(h.activate_only(DeviceHarness::kRingFeatures, {}).ok());
}

}  // namespace
}  // namespace vmkit
