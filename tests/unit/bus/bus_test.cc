#include "bus/bus.h"

#include <gtest/gtest.h>

#include <vector>

namespace vmkit {
namespace {

class RecordingDevice : public BusDevice {
 public:
  void read(uint64_t offset, std::span<uint8_t> data) override {
    last_offset = offset;
    for (auto& b : data) b = 0x5a;
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    last_offset = offset;
    written.assign(data.begin(), data.end());
  }
  uint64_t last_offset = ~0ull;
  std::vector<uint8_t> written;
};

TEST(Bus, RoutesWithOffsets) {
  Bus bus("pio");
  auto dev = std::make_shared<RecordingDevice>();
  ASSERT_TRUE(bus.insert(dev, 0x3f8, 8).ok());
  uint8_t b[1];
  EXPECT_TRUE(bus.read(0x3fd, b));
  EXPECT_EQ(dev->last_offset, 5u);
  EXPECT_EQ(b[0], 0x5a);
  const uint8_t w[2] = {1, 2};
  EXPECT_TRUE(bus.write(0x3f8, w));
  EXPECT_EQ(dev->written, (std::vector<uint8_t>{1, 2}));
}

TEST(Bus, UnclaimedAndStraddling) {
  Bus bus("mmio");
  auto dev = std::make_shared<RecordingDevice>();
  ASSERT_TRUE(bus.insert(dev, 0x1000, 0x10).ok());
  uint8_t d[4] = {9, 9, 9, 9};
  EXPECT_FALSE(bus.read(0x0fff, std::span(d, 1)));
  EXPECT_EQ(d[0], 0);
  EXPECT_FALSE(bus.read(0x100e, d));  // straddles the end
  EXPECT_FALSE(bus.read(0x1010, std::span(d, 1)));
}

TEST(Bus, RejectsOverlapAndWrap) {
  Bus bus("mmio");
  auto dev = std::make_shared<RecordingDevice>();
  ASSERT_TRUE(bus.insert(dev, 0x1000, 0x100).ok());
  EXPECT_FALSE(bus.insert(dev, 0x10ff, 1).ok());
  EXPECT_FALSE(bus.insert(dev, 0x0f00, 0x101).ok());
  EXPECT_FALSE(bus.insert(dev, 0x0, 0).ok());
  EXPECT_FALSE(bus.insert(dev, ~0ull - 1, 4).ok());
  EXPECT_TRUE(bus.insert(dev, 0x1100, 0x100).ok());
  EXPECT_TRUE(bus.insert(dev, 0x0f00, 0x100).ok());
}

TEST(Bus, RemoveAndMove) {
  Bus bus("mmio");
  auto dev = std::make_shared<RecordingDevice>();
  ASSERT_TRUE(bus.insert(dev, 0x2000, 0x100).ok());
  EXPECT_TRUE(bus.remove(0x2000));
  EXPECT_FALSE(bus.remove(0x2000));
  uint8_t d[1];
  EXPECT_FALSE(bus.read(0x2000, d));
  ASSERT_TRUE(bus.insert(dev, 0x3000, 0x100).ok());
  EXPECT_TRUE(bus.read(0x30ff, d));
}

}  // namespace
}  // namespace vmkit
