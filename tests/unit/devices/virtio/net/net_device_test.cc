// virtio-net: identity, features, configuration, transmit.
#include <gtest/gtest.h>

#include <cstring>

#include "net_fixture.h"

namespace vmkit {
namespace {

using namespace testing;  // NOLINT
using namespace net;      // NOLINT

TEST(NetDevice, IdentityAndQueues) {
  NetFixture f;
  EXPECT_EQ(f.dev->device_type(), 1u);
  EXPECT_EQ(f.dev->queue_max_sizes(), (std::vector<uint16_t>{256, 256, 64}));
  NetFixture mq(4);
  EXPECT_EQ(mq.dev->queue_max_sizes().size(), 9u);
  EXPECT_TRUE(mq.dev->device_features() & kFeatureMq);
  EXPECT_FALSE(f.dev->device_features() & kFeatureMq);
}

TEST(NetDevice, FeaturesFollowTheBackend) {
  NetFixture tap_like;
  uint64_t f = tap_like.dev->device_features();
  for (uint64_t bit : {kFeatureCsum, kFeatureGuestCsum, kFeatureHostTso4, kFeatureHostTso6,
                       kFeatureGuestTso4, kFeatureGuestTso6, kFeatureMrgRxbuf, kFeatureStatus,
                       kFeatureMac, kFeatureCtrlVq, kFeatureCtrlRx, kFeatureCtrlGuestOffloads}) {
    EXPECT_TRUE(f & bit) << bit;
  }
  EXPECT_FALSE(f & (kFeatureHostUfo | kFeatureGuestUfo | kFeatureGuestAnnounce));
  NetFixture slirp_like(1, NetOffloads{});
  uint64_t g = slirp_like.dev->device_features();
  EXPECT_FALSE(g & (kFeatureCsum | kFeatureGuestCsum | kFeatureHostTso4 | kFeatureGuestTso4 |
                    kFeatureCtrlGuestOffloads));
  EXPECT_TRUE(g & kFeatureMrgRxbuf);
}

TEST(NetDevice, RefusesFeatureCombinationsTheSpecForbids) {
  NetFixture f;
  EXPECT_TRUE(f.dev->accept_features(kNetMrg | kNetOffloads));
  EXPECT_FALSE(f.dev->accept_features(kFeatureGuestTso4));               // without GUEST_CSUM
  EXPECT_FALSE(f.dev->accept_features(kFeatureHostTso6));                // without CSUM
  EXPECT_FALSE(f.dev->accept_features(kFeatureCsum | kFeatureHostEcn));  // without TSO
  EXPECT_FALSE(f.dev->accept_features(kFeatureCtrlRx));                  // without CTRL_VQ
  EXPECT_FALSE(f.dev->accept_features(kFeatureCtrlVq | kFeatureCtrlRxExtra));
}

TEST(NetDevice, ConfigMacStatusPairsAndCreateErrors) {
  NetFixture f(3);
  Config c{};
  f.dev->read_config(0, std::span(reinterpret_cast<uint8_t*>(&c), sizeof(c)));
  EXPECT_EQ(0, std::memcmp(c.mac, kGuestMac.bytes().data(), 6));
  EXPECT_EQ(c.status, kStatusLinkUp);
  EXPECT_EQ(c.max_virtqueue_pairs, 3);

  NetDeviceParams p;
  p.backend = std::make_shared<PairBackend>();
  p.mac = MacAddress({0x01, 0, 0, 0, 0, 1});
  EXPECT_FALSE(NetDevice::create(p).ok());  // multicast MAC
  p.mac = kGuestMac;
  p.queue_size = 100;
  EXPECT_FALSE(NetDevice::create(p).ok());
  p.queue_size = 256;
  p.link_up = false;
  auto down = NetDevice::create(p).value();
  down->read_config(0, std::span(reinterpret_cast<uint8_t*>(&c), sizeof(c)));
  EXPECT_EQ(c.status, 0);
}

TEST(NetDevice, LinkChangeInterruptsTheRunningGuest) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());
  f.dev->set_link_up(false);
  EXPECT_EQ(f.h->irq.config_changes.load(), 1);
  Config c{};
  f.dev->read_config(0, std::span(reinterpret_cast<uint8_t*>(&c), sizeof(c)));
  EXPECT_EQ(c.status, 0);
  f.dev->set_link_up(false);  // no change, no interrupt
  EXPECT_EQ(f.h->irq.config_changes.load(), 1);
}

TEST(NetTx, FrameGoesToTheBackendWithItsHeader) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());
  auto frame = eth_frame(MacAddress::broadcast(), 100);
  f.guest_send(with_header(VnetHeader{}, frame));
  auto got = f.host_take();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, with_header(VnetHeader{}, frame));
  ASSERT_TRUE(f.h->wait_used(f.tx(), 1));
  EXPECT_EQ(f.h->driver(f.tx()).pop_used()->len, 0u);
  EXPECT_EQ(f.dev->stats().tx_frames, 1u);
  EXPECT_EQ(f.dev->stats().tx_bytes, frame.size());
}

TEST(NetTx, HeaderAndFrameInAnyLayout) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg | kNetOffloads).ok());
  VnetHeader h;
  h.flags = VnetHeader::kFlagNeedsCsum;
  h.csum_start = 34;
  h.csum_offset = 6;
  auto bytes = with_header(h, eth_frame(kGuestMac, 300));
  // 5 bytes, 20 bytes, the rest: the header is split across descriptors.
  std::span<const uint8_t> all(bytes);
  f.h->driver(f.tx())
      .chain()
      .readable(all.first(5))
      .readable(all.subspan(5, 20))
      .readable(all.subspan(25))
      .publish();
  f.h->kick(f.tx());
  auto got = f.host_take();
  ASSERT_TRUE(got);
  VnetHeader sent = header_of(*got);
  EXPECT_EQ(sent.flags, VnetHeader::kFlagNeedsCsum);
  EXPECT_EQ(sent.hdr_len, 42);  // canonical copy, not the guest's bytes
  EXPECT_EQ(std::vector<uint8_t>(got->begin() + 12, got->end()),
            std::vector<uint8_t>(bytes.begin() + 12, bytes.end()));
}

TEST(NetTx, TsoFrameKeepsItsGsoFields) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg | kNetOffloads).ok());
  VnetHeader h;
  h.flags = VnetHeader::kFlagNeedsCsum;
  h.gso_type = VnetHeader::kGsoTcpV4;
  h.gso_size = 1448;
  h.csum_start = 34;
  h.csum_offset = 16;
  h.hdr_len = 66;
  f.guest_send(with_header(h, eth_frame(kGuestMac, 30000)));
  auto got = f.host_take();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), 12u + 14 + 30000);
  EXPECT_EQ(header_of(*got).gso_type, VnetHeader::kGsoTcpV4);
  EXPECT_EQ(header_of(*got).gso_size, 1448);
}

TEST(NetTx, HostileHeadersAreDroppedAndCounted) {
  NetFixture f(1, NetOffloads{});  // a backend without offloads: nothing may be offloaded
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());
  std::vector<std::vector<uint8_t>> bad;
  VnetHeader csum;
  csum.flags = VnetHeader::kFlagNeedsCsum;  // CSUM not negotiated
  bad.push_back(with_header(csum, eth_frame(kGuestMac, 100)));
  VnetHeader gso;
  gso.flags = VnetHeader::kFlagNeedsCsum;
  gso.gso_type = VnetHeader::kGsoTcpV4;
  gso.gso_size = 0;
  bad.push_back(with_header(gso, eth_frame(kGuestMac, 100)));
  VnetHeader junk;
  junk.gso_type = 0x55;
  bad.push_back(with_header(junk, eth_frame(kGuestMac, 100)));
  bad.push_back(std::vector<uint8_t>(5, 0));        // shorter than the header
  bad.push_back(std::vector<uint8_t>(12 + 10, 0));  // a runt frame
  for (auto& b : bad) f.guest_send(b);
  ASSERT_TRUE(f.h->wait_used(f.tx(), static_cast<uint16_t>(bad.size())));
  EXPECT_FALSE(f.host_take(0, std::chrono::milliseconds(50)));
  EXPECT_EQ(f.dev->stats().tx_dropped, bad.size());
  // The device goes on.
  f.guest_send(with_header(VnetHeader{}, eth_frame(kGuestMac, 60)));
  EXPECT_TRUE(f.host_take());
  EXPECT_EQ(f.h->irq.device_errors.load(), 0);
}

TEST(NetTx, BadCsumOffsetsWithOffloads) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg | kNetOffloads).ok());
  VnetHeader h;
  h.flags = VnetHeader::kFlagNeedsCsum;
  h.csum_start = 100;
  h.csum_offset = 6;  // past a 60-byte frame
  f.guest_send(with_header(h, eth_frame(kGuestMac, 46)));
  VnetHeader g;
  g.flags = VnetHeader::kFlagNeedsCsum;
  g.gso_type = VnetHeader::kGsoTcpV6;
  g.gso_size = 1400;
  g.csum_start = 54;
  g.csum_offset = 16;
  g.hdr_len = 5000;  // past the frame
  f.guest_send(with_header(g, eth_frame(kGuestMac, 1000)));
  ASSERT_TRUE(f.h->wait_used(f.tx(), 2));
  EXPECT_EQ(f.dev->stats().tx_dropped, 2u);
  EXPECT_FALSE(f.host_take(0, std::chrono::milliseconds(20)));
}

TEST(NetTx, ManyFramesOneWakeupFewInterrupts) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());
  auto& drv = f.h->driver(f.tx());
  for (int i = 0; i < 64; ++i) {
    drv.stage(drv.chain().readable(with_header({}, eth_frame(kGuestMac, 64, uint8_t(i)))).build());
  }
  drv.publish_staged();
  f.h->kick(f.tx());
  ASSERT_TRUE(f.h->wait_used(f.tx(), 64));
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(f.host_take()) << i;
  EXPECT_LE(f.h->irq.used[f.tx()].load(), 2);
}

TEST(NetTx, BackendBackpressureKeepsTheFrameUntilWritable) {
  NetFixture f(1, {true, true, true, true}, 4096);  // tiny socket buffers: sends block
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());
  auto& drv = f.h->driver(f.tx());
  constexpr int kFrames = 40;
  for (int i = 0; i < kFrames; ++i) {
    drv.stage(
        drv.chain().readable(with_header({}, eth_frame(kGuestMac, 1000, uint8_t(i)))).build());
  }
  drv.publish_staged();
  f.h->kick(f.tx());
  int got = 0;
  for (int i = 0; i < kFrames; ++i) {
    auto frame = f.host_take();
    ASSERT_TRUE(frame) << "frame " << i;
    EXPECT_EQ((*frame)[12 + 14], static_cast<uint8_t>(i));  // in order
    ++got;
  }
  EXPECT_EQ(got, kFrames);
  ASSERT_TRUE(f.h->wait_used(f.tx(), kFrames));
  EXPECT_EQ(f.dev->stats().tx_errors, 0u);
}

TEST(NetDevice, BrokenRingAsksForReset) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());
  f.h->driver(f.tx()).chain().raw(0x7000000000, 16, 0).publish();
  f.h->kick(f.tx());
  ASSERT_TRUE(f.h->irq.wait_until([&] { return f.h->irq.device_errors.load() == 1; }));
}

TEST(NetDevice, ResetAndActivateAgain) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());
  f.dev->reset();
  f.h->driver(f.tx()).chain().readable(with_header({}, eth_frame(kGuestMac, 60))).publish();
  f.h->kick(f.tx());
  EXPECT_FALSE(f.host_take(0, std::chrono::milliseconds(30)));
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());  // the waiting frame is found at activation
  EXPECT_TRUE(f.host_take());
}

}  // namespace
}  // namespace vmkit
