// virtio-net: the control queue on a running device, multi-queue pairs.
#include <gtest/gtest.h>

#include <cstring>

#include "net_fixture.h"

namespace vmkit {
namespace {

using namespace testing;  // NOLINT
using namespace net;      // NOLINT

// Sends a command and returns the ack byte the device wrote (or -1 when it wrote none).
int command(NetFixture& f, std::vector<uint8_t> bytes, bool with_ack = true) {
  auto& drv = f.h->driver(f.ctrl());
  uint16_t before = drv.used_idx();
  GuestAddress ack;
  auto chain = drv.chain();
  chain.readable(bytes);
  if (with_ack) chain.writable(1, &ack);
  chain.publish();
  f.h->kick(f.ctrl());
  if (!f.h->wait_used(f.ctrl(), static_cast<uint16_t>(before + 1))) return -2;
  auto used = drv.pop_used().value();
  if (used.len == 0) return -1;
  return drv.read(ack, 1)[0];
}

std::vector<uint8_t> rx_mode(uint8_t cmd, bool on) {
  return {kCtrlRx, cmd, static_cast<uint8_t>(on)};
}

std::vector<uint8_t> mac_table(std::vector<MacAddress> uni, std::vector<MacAddress> multi) {
  std::vector<uint8_t> out{kCtrlMac, kCtrlMacTableSet};
  for (auto* table : {&uni, &multi}) {
    uint32_t n = static_cast<uint32_t>(table->size());
    uint8_t b[4];
    std::memcpy(b, &n, 4);
    out.insert(out.end(), b, b + 4);
    for (auto& m : *table) out.insert(out.end(), m.bytes().begin(), m.bytes().end());
  }
  return out;
}

void post_rx(NetFixture& f, int count, uint16_t pair = 0) {
  auto& drv = f.h->driver(f.rx(pair));
  for (int i = 0; i < count; ++i) drv.stage(drv.chain().writable(1536).build());
  drv.publish_staged();
  f.h->kick(f.rx(pair));
}

const MacAddress kOther({0x02, 0xaa, 0, 0, 0, 1});

TEST(NetCtrl, ReceiveFilterFollowsTheDriver) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());
  post_rx(f, 32);
  // Promiscuous at first: a frame for another MAC arrives.
  ASSERT_TRUE(f.backend->inject(0, {}, eth_frame(kOther, 60)));
  ASSERT_TRUE(f.h->wait_used(f.rx(), 1));
  EXPECT_EQ(command(f, rx_mode(kCtrlRxPromisc, false)), kAckOk);
  EXPECT_EQ(command(f, mac_table({}, {})), kAckOk);
  ASSERT_TRUE(f.backend->inject(0, {}, eth_frame(kOther, 60)));        // filtered
  ASSERT_TRUE(f.backend->inject(0, {}, eth_frame(kGuestMac, 60, 1)));  // ours
  ASSERT_TRUE(f.backend->inject(0, {}, eth_frame(MacAddress::broadcast(), 60, 2)));
  ASSERT_TRUE(f.h->wait_used(f.rx(), 3));
  EXPECT_EQ(f.dev->stats().rx_filtered, 1u);
  EXPECT_EQ(command(f, mac_table({kOther}, {})), kAckOk);
  EXPECT_EQ(command(f, rx_mode(kCtrlRxNobcast, true)), kAckOk);
  ASSERT_TRUE(f.backend->inject(0, {}, eth_frame(MacAddress::broadcast(), 60)));  // filtered
  ASSERT_TRUE(f.backend->inject(0, {}, eth_frame(kOther, 60)));                   // in table
  ASSERT_TRUE(f.h->wait_used(f.rx(), 4));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(f.h->driver(f.rx()).used_idx(), 4);
  EXPECT_EQ(f.dev->stats().rx_filtered, 2u);
}

TEST(NetCtrl, MacAddressSetChangesTheConfigUntilReset) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());
  std::vector<uint8_t> cmd{kCtrlMac, kCtrlMacAddrSet};
  cmd.insert(cmd.end(), kOther.bytes().begin(), kOther.bytes().end());
  EXPECT_EQ(command(f, cmd), kAckOk);
  EXPECT_EQ(f.dev->mac(), kOther);
  f.dev->reset();
  EXPECT_EQ(f.dev->mac(), kGuestMac);
}

TEST(NetCtrl, GarbageGetsErrAndTheQueueGoesOn) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());
  EXPECT_EQ(command(f, {}), kAckErr);
  EXPECT_EQ(command(f, {0xff, 0xff, 1, 2, 3}), kAckErr);
  EXPECT_EQ(command(f, {kCtrlRx, kCtrlRxPromisc}), kAckErr);           // no data
  EXPECT_EQ(command(f, {kCtrlMq, kCtrlMqVqPairsSet, 2, 0}), kAckErr);  // MQ not negotiated
  EXPECT_EQ(command(f, {kCtrlGuestOffloads, 0, 0, 0, 0, 0, 0, 0, 0, 0}), kAckErr);
  EXPECT_EQ(command(f, rx_mode(kCtrlRxPromisc, true), /*with_ack=*/false), -1);
  std::vector<uint8_t> huge(8000, 0);
  EXPECT_EQ(command(f, huge), kAckErr);
  EXPECT_EQ(command(f, rx_mode(kCtrlRxAllmulti, true)), kAckOk);
  EXPECT_EQ(f.dev->stats().ctrl_err, 6u);  // the command without an ack buffer was valid
  EXPECT_EQ(f.h->irq.device_errors.load(), 0);
}

TEST(NetCtrl, GuestOffloadsSetReprogramsTheBackend) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg | kNetOffloads | kFeatureCtrlGuestOffloads).ok());
  ASSERT_TRUE(f.backend->rx_set && f.backend->rx_set->tso6);
  std::vector<uint8_t> off{kCtrlGuestOffloads, kCtrlGuestOffloadsSet};
  uint64_t bits = kFeatureGuestCsum;
  uint8_t b[8];
  std::memcpy(b, &bits, 8);
  off.insert(off.end(), b, b + 8);
  EXPECT_EQ(command(f, off), kAckOk);
  EXPECT_TRUE(f.backend->rx_set->csum);
  EXPECT_FALSE(f.backend->rx_set->tso4 || f.backend->rx_set->tso6);
}

TEST(NetMq, PairsBeyondTheFirstWaitForVqPairsSet) {
  NetFixture f(2);
  uint64_t features = kNetMrg | kFeatureMq;
  ASSERT_TRUE(f.h->activate(features).ok());
  EXPECT_TRUE(f.backend->q(0).enabled);
  EXPECT_FALSE(f.backend->q(1).enabled);
  EXPECT_EQ(f.dev->active_queue_pairs(), 1);
  post_rx(f, 8, 1);
  ASSERT_TRUE(f.backend->inject(1, {}, eth_frame(kGuestMac, 60)));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(f.h->driver(f.rx(1)).used_idx(), 0);  // pair 1 is not in use yet
  EXPECT_EQ(command(f, {kCtrlMq, kCtrlMqVqPairsSet, 2, 0}), kAckOk);
  ASSERT_TRUE(f.h->wait_used(f.rx(1), 1));
  EXPECT_TRUE(f.backend->q(1).enabled);
  EXPECT_EQ(f.dev->active_queue_pairs(), 2);
  // Each pair transmits on its own backend queue.
  f.guest_send(with_header({}, eth_frame(kGuestMac, 60, 5)), 1);
  auto got = f.host_take(1);
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)[12 + 14], 5);
  EXPECT_EQ(command(f, {kCtrlMq, kCtrlMqVqPairsSet, 3, 0}), kAckErr);
  EXPECT_EQ(command(f, {kCtrlMq, kCtrlMqVqPairsSet, 1, 0}), kAckOk);
  ASSERT_TRUE(f.h->irq.wait_until([&] { return !f.backend->q(1).enabled; }));
}

TEST(NetMq, WithoutMqTheControlQueueIsQueueTwo) {
  NetFixture f(2);
  // MQ offered but not acked: queues 0, 1 and the control queue at 2 (not 4).
  std::vector<uint16_t> enabled{0, 1, 2};
  ASSERT_TRUE(f.h->activate_only(kNetMrg, enabled).ok());
  auto& drv = f.h->driver(2);
  GuestAddress ack;
  drv.chain().readable(rx_mode(kCtrlRxPromisc, false)).writable(1, &ack).publish();
  f.h->kick(2);
  ASSERT_TRUE(f.h->wait_used(2, 1));
  EXPECT_EQ(drv.read(ack, 1)[0], kAckOk);
  EXPECT_FALSE(f.backend->q(1).enabled);
}

}  // namespace
}  // namespace vmkit
