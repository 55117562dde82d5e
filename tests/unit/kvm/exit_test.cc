// Exit decoding with synthetic kvm_run pages: no /dev/kvm needed.
#include "kvm/exit.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace vmkit {
namespace {

struct FakeRun {
  FakeRun() : page(4096, 0) {}
  kvm_run* run() { return reinterpret_cast<kvm_run*>(page.data()); }
  std::vector<uint8_t> page;
};

TEST(DecodeExit, PioOut) {
  FakeRun f;
  f.run()->exit_reason = KVM_EXIT_IO;
  f.run()->io.direction = KVM_EXIT_IO_OUT;
  f.run()->io.port = 0x3f8;
  f.run()->io.size = 1;
  f.run()->io.count = 3;
  f.run()->io.data_offset = 1024;
  std::memcpy(f.page.data() + 1024, "abc", 3);
  auto exit = decode_exit(f.run(), f.page.size());
  auto* out = std::get_if<ExitIoOut>(&exit);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->port, 0x3f8);
  EXPECT_EQ(out->size, 1);
  ASSERT_EQ(out->data.size(), 3u);
  EXPECT_EQ(std::memcmp(out->data.data(), "abc", 3), 0);
  EXPECT_EQ(describe_exit(exit), "KVM_EXIT_IO out port 0x3f8 size 1");
}

TEST(DecodeExit, PioDataOutsidePageIsUnknown) {
  FakeRun f;
  f.run()->exit_reason = KVM_EXIT_IO;
  f.run()->io.direction = KVM_EXIT_IO_IN;
  f.run()->io.size = 4;
  f.run()->io.count = 2;
  f.run()->io.data_offset = 4090;
  EXPECT_TRUE(std::holds_alternative<ExitUnknown>(decode_exit(f.run(), f.page.size())));
}

TEST(DecodeExit, MmioReadWrite) {
  FakeRun f;
  f.run()->exit_reason = KVM_EXIT_MMIO;
  f.run()->mmio.phys_addr = 0xc0001000;
  f.run()->mmio.len = 4;
  f.run()->mmio.is_write = 1;
  std::memcpy(f.run()->mmio.data, "\x01\x02\x03\x04", 4);
  auto exit = decode_exit(f.run(), f.page.size());
  auto* w = std::get_if<ExitMmioWrite>(&exit);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->address, 0xc0001000u);
  EXPECT_EQ(w->data.size(), 4u);
  f.run()->mmio.is_write = 0;
  f.run()->mmio.len = 200;  // clamped to the 8-byte data field
  auto read = decode_exit(f.run(), f.page.size());
  ASSERT_TRUE(std::holds_alternative<ExitMmioRead>(read));
  EXPECT_EQ(std::get<ExitMmioRead>(read).data.size(), 8u);
}

TEST(DecodeExit, ErrorsAndEvents) {
  FakeRun f;
  f.run()->exit_reason = KVM_EXIT_INTERNAL_ERROR;
  f.run()->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
  f.run()->internal.ndata = 100;  // clamped
  auto exit = decode_exit(f.run(), f.page.size());
  ASSERT_TRUE(std::holds_alternative<ExitInternalError>(exit));
  EXPECT_EQ(std::get<ExitInternalError>(exit).data.size(), 16u);
  EXPECT_NE(describe_exit(exit).find("emulation failure"), std::string::npos);

  f.run()->exit_reason = KVM_EXIT_SHUTDOWN;
  EXPECT_TRUE(std::holds_alternative<ExitShutdown>(decode_exit(f.run(), f.page.size())));
  f.run()->exit_reason = KVM_EXIT_HLT;
  EXPECT_TRUE(std::holds_alternative<ExitHlt>(decode_exit(f.run(), f.page.size())));
  f.run()->exit_reason = KVM_EXIT_SYSTEM_EVENT;
  f.run()->system_event.type = KVM_SYSTEM_EVENT_RESET;
  auto ev = decode_exit(f.run(), f.page.size());
  EXPECT_EQ(std::get<ExitSystemEvent>(ev).type, static_cast<uint32_t>(KVM_SYSTEM_EVENT_RESET));
  f.run()->exit_reason = 9999;
  EXPECT_TRUE(std::holds_alternative<ExitUnknown>(decode_exit(f.run(), f.page.size())));
}

}  // namespace
}  // namespace vmkit
