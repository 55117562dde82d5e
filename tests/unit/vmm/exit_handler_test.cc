#include "vmm/exit_handler.h"

#include <gtest/gtest.h>

#include <vector>

namespace vmkit {
namespace {

class Recorder : public BusDevice {
 public:
  void read(uint64_t offset, std::span<uint8_t> data) override {
    reads.push_back(offset);
    for (auto& b : data) b = 0x42;
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    writes.push_back(offset);
    bytes.insert(bytes.end(), data.begin(), data.end());
  }
  std::vector<uint64_t> reads, writes;
  std::vector<uint8_t> bytes;
};

TEST(HandleExit, StringPioSplitsIntoAccesses) {
  Bus pio("pio"), mmio("mmio");
  auto dev = std::make_shared<Recorder>();
  ASSERT_TRUE(pio.insert(dev, 0x3f8, 8).ok());
  uint8_t data[3] = {'a', 'b', 'c'};
  auto r = handle_exit(ExitIoOut{0x3f8, 1, std::span<const uint8_t>(data, 3)}, pio, mmio);
  EXPECT_FALSE(r.stop);
  EXPECT_EQ(dev->writes.size(), 3u);
  EXPECT_EQ(dev->bytes, (std::vector<uint8_t>{'a', 'b', 'c'}));
}

TEST(HandleExit, UnclaimedPortsReadAllOnes) {
  Bus pio("pio"), mmio("mmio");
  uint8_t data[4] = {};
  auto r = handle_exit(ExitIoIn{0x2f8, 2, std::span<uint8_t>(data, 4)}, pio, mmio);
  EXPECT_FALSE(r.stop);
  for (uint8_t b : data) EXPECT_EQ(b, 0xff);
}

TEST(HandleExit, MmioRoutes) {
  Bus pio("pio"), mmio("mmio");
  auto dev = std::make_shared<Recorder>();
  ASSERT_TRUE(mmio.insert(dev, 0xc0000000, 0x1000).ok());
  uint8_t data[4] = {};
  handle_exit(ExitMmioRead{0xc0000010, std::span<uint8_t>(data, 4)}, pio, mmio);
  EXPECT_EQ(dev->reads, (std::vector<uint64_t>{0x10}));
  EXPECT_EQ(data[3], 0x42);
}

TEST(HandleExit, StopsWithReasons) {
  Bus pio("pio"), mmio("mmio");
  EXPECT_EQ(handle_exit(ExitShutdown{}, pio, mmio).stop, VmEvent::kError);
  EXPECT_EQ(handle_exit(ExitSystemEvent{KVM_SYSTEM_EVENT_RESET}, pio, mmio).stop, VmEvent::kReset);
  EXPECT_EQ(handle_exit(ExitSystemEvent{KVM_SYSTEM_EVENT_SHUTDOWN}, pio, mmio).stop,
            VmEvent::kPoweroff);
  EXPECT_EQ(handle_exit(ExitFailEntry{0x7}, pio, mmio).stop, VmEvent::kError);
  EXPECT_FALSE(handle_exit(ExitInterrupted{}, pio, mmio).stop);
  auto unknown = handle_exit(ExitUnknown{1234}, pio, mmio);
  EXPECT_EQ(unknown.stop, VmEvent::kError);
  EXPECT_NE(unknown.message.find("1234"), std::string::npos);
}

TEST(InternalError, ExplainsPvm) {
  ExitInternalError e{KVM_INTERNAL_ERROR_EMULATION, {}};
  EXPECT_NE(explain_internal_error(e, true).find("PVM"), std::string::npos);
  EXPECT_EQ(explain_internal_error(e, false).find("PVM"), std::string::npos);
  EXPECT_NE(explain_internal_error(e, false).find("emulation failure"), std::string::npos);
}

}  // namespace
}  // namespace vmkit
