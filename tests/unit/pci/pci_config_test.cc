#include "pci/pci_config.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace vmkit::pci {
namespace {

TEST(ConfigSpace, GuestWritesHonourMask) {
  ConfigSpace cs;
  cs.set16(kVendorId, 0x1af4);
  cs.set_writable16(kCommand, kCommandWritable);
  std::array<uint8_t, 2> ones{0xff, 0xff};
  cs.guest_write(kVendorId, ones);
  EXPECT_EQ(cs.read16(kVendorId), 0x1af4);  // read-only
  cs.guest_write(kCommand, ones);
  EXPECT_EQ(cs.read16(kCommand), kCommandWritable);
}

TEST(ConfigSpace, CapabilityListIsLinked) {
  ConfigSpace cs;
  std::array<uint8_t, 16> a{kCapVendorSpecific, 0xaa, 16};
  std::array<uint8_t, 12> b{kCapMsix, 0xbb};
  std::array<uint8_t, 20> c{kCapVendorSpecific, 0xcc, 20};
  auto oa = cs.add_capability(a);
  auto ob = cs.add_capability(b);
  auto oc = cs.add_capability(c);
  ASSERT_TRUE(oa.ok() && ob.ok() && oc.ok());
  EXPECT_TRUE(cs.read16(kStatus) & kStatusCapabilities);
  // Walk the list as a guest does.
  std::vector<uint8_t> ids;
  uint8_t at = cs.read8(kCapabilityPointer);
  for (int guard = 0; at != 0 && guard < 48; ++guard) {
    EXPECT_EQ(at % 4, 0);
    EXPECT_GE(at, kFirstCapability);
    ids.push_back(cs.read8(at));
    at = cs.read8(at + 1u);
  }
  EXPECT_EQ(ids, (std::vector<uint8_t>{kCapVendorSpecific, kCapMsix, kCapVendorSpecific}));
  EXPECT_EQ(*oa, kFirstCapability);
  EXPECT_EQ(*ob, kFirstCapability + 16);
  EXPECT_EQ(*oc, kFirstCapability + 28);
}

TEST(ConfigSpace, CapabilityWritableMaskApplies) {
  ConfigSpace cs;
  std::array<uint8_t, 8> body{kCapVendorSpecific, 0, 8, 1, 2, 3, 4, 5};
  std::array<uint8_t, 8> mask{0, 0, 0, 0, 0xff, 0, 0, 0};
  uint8_t at = cs.add_capability(body, mask).value();
  std::array<uint8_t, 4> ones{0xff, 0xff, 0xff, 0xff};
  cs.guest_write(at + 4u, ones);
  EXPECT_EQ(cs.read32(at + 4u), 0x050403ffu);
  cs.guest_write(at, ones);  // ID and next pointer stay
  EXPECT_EQ(cs.read8(at), kCapVendorSpecific);
  EXPECT_EQ(cs.read8(at + 1u), 0);
}

TEST(ConfigSpace, CapabilityThatDoesNotFitIsRefused) {
  ConfigSpace cs;
  std::vector<uint8_t> big(180, 0);
  big[0] = kCapVendorSpecific;
  EXPECT_TRUE(cs.add_capability(big).ok());
  EXPECT_FALSE(cs.add_capability(std::vector<uint8_t>(32, 9)).ok());
  EXPECT_FALSE(cs.add_capability(std::vector<uint8_t>(1, 9)).ok());
}

}  // namespace
}  // namespace vmkit::pci
