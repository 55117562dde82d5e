#include "devices/virtio/net/net_header.h"

#include <gtest/gtest.h>

#include <vector>

#include "devices/virtio/net/net_spec.h"

namespace vmkit::net {
namespace {

constexpr uint64_t kAll = kFeatureCsum | kFeatureHostTso4 | kFeatureHostTso6 | kFeatureHostEcn;

VnetHeader tso4(uint16_t mss = 1448) {
  VnetHeader h;
  h.flags = VnetHeader::kFlagNeedsCsum;
  h.gso_type = VnetHeader::kGsoTcpV4;
  h.gso_size = mss;
  h.csum_start = 34;
  h.csum_offset = 16;
  h.hdr_len = 66;
  return h;
}

TEST(TxHeader, PlainFrameIsFineWithoutAnyFeature) {
  VnetHeader h;
  EXPECT_EQ(check_tx_header(h, 60, 0), TxHeaderVerdict::kOk);
}

TEST(TxHeader, FrameLengthBounds) {
  VnetHeader h;
  EXPECT_EQ(check_tx_header(h, 13, kAll), TxHeaderVerdict::kFrameTooShort);
  EXPECT_EQ(check_tx_header(h, 0, kAll), TxHeaderVerdict::kFrameTooShort);
  EXPECT_EQ(check_tx_header(h, kMaxFrameSize + 1, kAll), TxHeaderVerdict::kFrameTooLong);
  EXPECT_EQ(check_tx_header(h, kMaxFrameSize, kAll), TxHeaderVerdict::kOk);
}

TEST(TxHeader, ChecksumNeedsTheFeatureAndMustBeInsideTheFrame) {
  VnetHeader h;
  h.flags = VnetHeader::kFlagNeedsCsum;
  h.csum_start = 34;
  h.csum_offset = 6;
  EXPECT_EQ(check_tx_header(h, 100, 0), TxHeaderVerdict::kCsumNotNegotiated);
  EXPECT_EQ(check_tx_header(h, 100, kFeatureCsum), TxHeaderVerdict::kOk);
  EXPECT_EQ(h.hdr_len, 42);  // raised to the checksum's end, as tun does
  h.csum_start = 98;
  h.csum_offset = 1;  // end 101 > 100
  EXPECT_EQ(check_tx_header(h, 100, kFeatureCsum), TxHeaderVerdict::kCsumOutOfFrame);
  h.csum_start = 0xffff;
  h.csum_offset = 0xffff;  // no overflow in the sum
  EXPECT_EQ(check_tx_header(h, kMaxFrameSize, kFeatureCsum), TxHeaderVerdict::kCsumOutOfFrame);
}

TEST(TxHeader, GsoNeedsItsFeatureASizeAndChecksum) {
  VnetHeader h = tso4();
  EXPECT_EQ(check_tx_header(h, 30000, kAll), TxHeaderVerdict::kOk);
  h = tso4();
  EXPECT_EQ(check_tx_header(h, 30000, kFeatureCsum), TxHeaderVerdict::kGsoNotNegotiated);
  h = tso4(0);
  EXPECT_EQ(check_tx_header(h, 30000, kAll), TxHeaderVerdict::kGsoZeroSize);
  h = tso4();
  h.flags = 0;
  EXPECT_EQ(check_tx_header(h, 30000, kAll), TxHeaderVerdict::kGsoWithoutCsum);
  h = tso4();
  h.gso_type = VnetHeader::kGsoTcpV6;
  EXPECT_EQ(check_tx_header(h, 30000, kFeatureCsum | kFeatureHostTso4),
            TxHeaderVerdict::kGsoNotNegotiated);
  h = tso4();
  h.gso_type = VnetHeader::kGsoUdp;  // HOST_UFO is never offered
  EXPECT_EQ(check_tx_header(h, 30000, kAll), TxHeaderVerdict::kGsoNotNegotiated);
  h = tso4();
  h.gso_type = VnetHeader::kGsoUdpL4;
  EXPECT_EQ(check_tx_header(h, 30000, kAll), TxHeaderVerdict::kGsoNotNegotiated);
  for (uint8_t t : std::vector<uint8_t>{2, 6, 7, 0x40, 0x7f}) {
    h = tso4();
    h.gso_type = t;
    EXPECT_EQ(check_tx_header(h, 30000, kAll), TxHeaderVerdict::kGsoUnknownType) << int{t};
  }
}

TEST(TxHeader, EcnOnlyWithTcpAndItsFeature) {
  VnetHeader h = tso4();
  h.gso_type = static_cast<uint8_t>(h.gso_type | VnetHeader::kGsoEcn);
  EXPECT_EQ(check_tx_header(h, 30000, kAll), TxHeaderVerdict::kOk);
  h = tso4();
  h.gso_type = static_cast<uint8_t>(h.gso_type | VnetHeader::kGsoEcn);
  EXPECT_EQ(check_tx_header(h, 30000, kAll & ~kFeatureHostEcn), TxHeaderVerdict::kGsoNotNegotiated);
  VnetHeader none;
  none.gso_type = VnetHeader::kGsoEcn;
  EXPECT_EQ(check_tx_header(none, 100, kAll), TxHeaderVerdict::kGsoUnknownType);
}

TEST(TxHeader, HdrLenPastTheFrame) {
  VnetHeader h = tso4();
  h.hdr_len = 2000;
  EXPECT_EQ(check_tx_header(h, 1000, kAll), TxHeaderVerdict::kHdrLenOutOfFrame);
  VnetHeader plain;
  plain.hdr_len = 2000;  // only a hint without GSO: cleared
  EXPECT_EQ(check_tx_header(plain, 1000, kAll), TxHeaderVerdict::kOk);
  EXPECT_EQ(plain.hdr_len, 0);
}

TEST(TxHeader, CanonicalForm) {
  VnetHeader h;
  h.flags = VnetHeader::kFlagDataValid | VnetHeader::kFlagRscInfo;
  h.gso_size = 1000;
  h.num_buffers = 7;
  EXPECT_EQ(check_tx_header(h, 100, kAll), TxHeaderVerdict::kOk);
  EXPECT_EQ(h.flags, 0);
  EXPECT_EQ(h.gso_size, 0);
  EXPECT_EQ(h.num_buffers, 0);
}

TEST(TxHeader, EveryVerdictHasADescription) {
  for (int v = 0; v <= static_cast<int>(TxHeaderVerdict::kHdrLenOutOfFrame); ++v) {
    EXPECT_STRNE(describe(static_cast<TxHeaderVerdict>(v)), "?");
  }
}

}  // namespace
}  // namespace vmkit::net
