#include "memory/guest_memory.h"

#include <gtest/gtest.h>

#include <limits>

namespace vmkit {
namespace {

GuestMemory two_regions() {
  // 64 KiB at 0 and 64 KiB at 1 MiB, with a hole between.
  return GuestMemory::create({{GuestAddress(0), 0x10000}, {GuestAddress(0x100000), 0x10000}})
      .value();
}

TEST(GuestMemory, ReadWriteObjects) {
  auto mem = two_regions();
  ASSERT_TRUE(mem.write_obj<uint32_t>(GuestAddress(0x100), 0xdeadbeef).ok());
  EXPECT_EQ(mem.read_obj<uint32_t>(GuestAddress(0x100)).value(), 0xdeadbeefu);
  ASSERT_TRUE(mem.write_obj<uint64_t>(GuestAddress(0x10fff8), 7).ok());
  EXPECT_EQ(mem.read_obj<uint64_t>(GuestAddress(0x10fff8)).value(), 7u);
  EXPECT_EQ(mem.total_size(), 0x20000u);
  EXPECT_EQ(mem.end().value(), 0x110000u);
}

TEST(GuestMemory, RejectsOutOfRange) {
  auto mem = two_regions();
  EXPECT_FALSE(mem.read_obj<uint32_t>(GuestAddress(0x10000)).ok());   // in the hole
  EXPECT_FALSE(mem.read_obj<uint64_t>(GuestAddress(0xfffc)).ok());    // straddles end
  EXPECT_FALSE(mem.read_obj<uint32_t>(GuestAddress(0x110000)).ok());  // past the end
  EXPECT_FALSE(mem.span(GuestAddress(0xfff0), 0x100020).ok());        // spans the hole
  EXPECT_FALSE(mem.span(GuestAddress(0x100), std::numeric_limits<uint64_t>::max()).ok());
  EXPECT_FALSE(mem.span(GuestAddress(std::numeric_limits<uint64_t>::max()), 2).ok());
  EXPECT_FALSE(mem.is_valid_range(GuestAddress(0xffff), 2));
  EXPECT_TRUE(mem.is_valid_range(GuestAddress(0xffff), 1));
}

TEST(GuestMemory, ErrorNamesAddress) {
  auto mem = two_regions();
  auto r = mem.read_obj<uint32_t>(GuestAddress(0x20000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "guest range 0x20000+0x4 is outside guest RAM");
}

TEST(GuestMemory, Atomics) {
  auto mem = two_regions();
  ASSERT_TRUE(mem.store_release<uint16_t>(GuestAddress(0x202), 42).ok());
  EXPECT_EQ(mem.load_acquire<uint16_t>(GuestAddress(0x202)).value(), 42);
  EXPECT_FALSE(mem.load_acquire<uint16_t>(GuestAddress(0x203)).ok());  // unaligned
  EXPECT_FALSE(mem.load_acquire<uint16_t>(GuestAddress(0x10000)).ok());
}

TEST(GuestMemory, CreateRejectsBadLayouts) {
  EXPECT_FALSE(GuestMemory::create({{GuestAddress(0), 0}}).ok());
  EXPECT_FALSE(GuestMemory::create({{GuestAddress(0x10), 0x1000}}).ok());
  EXPECT_FALSE(
      GuestMemory::create({{GuestAddress(0), 0x2000}, {GuestAddress(0x1000), 0x1000}}).ok());
}

TEST(GuestMemory, FillAndSpan) {
  auto mem = two_regions();
  ASSERT_TRUE(mem.fill(GuestAddress(0x1000), 0xab, 16).ok());
  auto s = mem.span(GuestAddress(0x1000), 16).value();
  for (uint8_t b : s) EXPECT_EQ(b, 0xab);
}

}  // namespace
}  // namespace vmkit
