#include "devices/virtio/net/net_ctrl.h"

#include <gtest/gtest.h>

#include <cstring>

#include "devices/virtio/net/net_spec.h"

namespace vmkit::net {
namespace {

constexpr uint64_t kCtrl = kFeatureCtrlVq | kFeatureCtrlRx | kFeatureCtrlRxExtra |
                           kFeatureCtrlVlan | kFeatureCtrlMacAddr | kFeatureMq |
                           kFeatureCtrlGuestOffloads | kFeatureGuestCsum | kFeatureGuestTso4;
const CtrlLimits kLimits{kCtrl, 4};

std::vector<uint8_t> cmd(uint8_t cls, uint8_t c, std::vector<uint8_t> data = {}) {
  std::vector<uint8_t> out{cls, c};
  for (uint8_t b : data) out.push_back(b);
  return out;
}

void put32(std::vector<uint8_t>& v, uint32_t x) {
  uint8_t b[4];
  std::memcpy(b, &x, 4);
  v.insert(v.end(), b, b + 4);
}

const MacAddress kA({0x02, 0, 0, 0, 0, 0xa});
const MacAddress kB({0x02, 0, 0, 0, 0, 0xb});
const MacAddress kMulti({0x01, 0, 0x5e, 0, 0, 1});

TEST(CtrlParse, RxModes) {
  auto c = parse_ctrl_command(cmd(kCtrlRx, kCtrlRxPromisc, {1}), kLimits);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(c->on);
  EXPECT_TRUE(parse_ctrl_command(cmd(kCtrlRx, kCtrlRxNobcast, {0}), kLimits).ok());
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlRx, 6, {0}), kLimits).ok());
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlRx, kCtrlRxPromisc), kLimits).ok());          // no data
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlRx, kCtrlRxPromisc, {1, 1}), kLimits).ok());  // extra
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlRx, kCtrlRxPromisc, {1}), {kFeatureCtrlVq, 1}).ok());
  EXPECT_FALSE(
      parse_ctrl_command(cmd(kCtrlRx, kCtrlRxNouni, {1}), {kFeatureCtrlVq | kFeatureCtrlRx, 1})
          .ok());  // extra modes need CTRL_RX_EXTRA
}

TEST(CtrlParse, MacTable) {
  std::vector<uint8_t> data;
  put32(data, 2);
  data.insert(data.end(), kA.bytes().begin(), kA.bytes().end());
  data.insert(data.end(), kB.bytes().begin(), kB.bytes().end());
  put32(data, 1);
  data.insert(data.end(), kMulti.bytes().begin(), kMulti.bytes().end());
  auto c = parse_ctrl_command(cmd(kCtrlMac, kCtrlMacTableSet, data), kLimits);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->unicast, (std::vector<MacAddress>{kA, kB}));
  EXPECT_EQ(c->multicast, (std::vector<MacAddress>{kMulti}));

  std::vector<uint8_t> lying;
  put32(lying, 0xffffffff);  // far more entries than bytes
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlMac, kCtrlMacTableSet, lying), kLimits).ok());
  std::vector<uint8_t> one_table;
  put32(one_table, 0);  // the multicast table is missing
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlMac, kCtrlMacTableSet, one_table), kLimits).ok());
}

TEST(CtrlParse, MacTableOverflowAcceptsAll) {
  std::vector<uint8_t> data;
  put32(data, 65);
  data.resize(data.size() + 65 * 6, 0x02);
  put32(data, 0);
  auto c = parse_ctrl_command(cmd(kCtrlMac, kCtrlMacTableSet, data), kLimits);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(c->unicast_overflow);
  EXPECT_TRUE(c->unicast.empty());
}

TEST(CtrlParse, MacAddress) {
  std::vector<uint8_t> data(kA.bytes().begin(), kA.bytes().end());
  auto c = parse_ctrl_command(cmd(kCtrlMac, kCtrlMacAddrSet, data), kLimits);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->mac, kA);
  std::vector<uint8_t> multi(kMulti.bytes().begin(), kMulti.bytes().end());
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlMac, kCtrlMacAddrSet, multi), kLimits).ok());
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlMac, kCtrlMacAddrSet, {1, 2, 3}), kLimits).ok());
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlMac, 7, data), kLimits).ok());
}

TEST(CtrlParse, VlanMqOffloads) {
  EXPECT_TRUE(parse_ctrl_command(cmd(kCtrlVlan, kCtrlVlanAdd, {0xff, 0x0f}), kLimits).ok());
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlVlan, kCtrlVlanAdd, {0x00, 0x10}), kLimits).ok());
  auto mq = parse_ctrl_command(cmd(kCtrlMq, kCtrlMqVqPairsSet, {4, 0}), kLimits);
  ASSERT_TRUE(mq.ok());
  EXPECT_EQ(mq->pairs, 4);
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlMq, kCtrlMqVqPairsSet, {5, 0}), kLimits).ok());
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlMq, kCtrlMqVqPairsSet, {0, 0}), kLimits).ok());
  std::vector<uint8_t> off(8, 0);
  off[0] = static_cast<uint8_t>(kFeatureGuestCsum | kFeatureGuestTso4);
  EXPECT_TRUE(parse_ctrl_command(cmd(kCtrlGuestOffloads, 0, off), kLimits).ok());
  off[0] = static_cast<uint8_t>(kFeatureGuestTso4);  // TSO without checksum
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlGuestOffloads, 0, off), kLimits).ok());
  off[0] = 0;
  off[1] = static_cast<uint8_t>(kFeatureGuestTso6 >> 8);  // not negotiated
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlGuestOffloads, 0, off), kLimits).ok());
}

TEST(CtrlParse, Garbage) {
  EXPECT_FALSE(parse_ctrl_command({}, kLimits).ok());
  EXPECT_FALSE(parse_ctrl_command(std::vector<uint8_t>{0}, kLimits).ok());
  EXPECT_FALSE(parse_ctrl_command(cmd(kCtrlAnnounce, 0), kLimits).ok());  // not offered
  EXPECT_FALSE(parse_ctrl_command(cmd(200, 0, {1, 2, 3}), kLimits).ok());
  EXPECT_FALSE(parse_ctrl_command(std::vector<uint8_t>(kMaxCtrlCommandBytes + 1), kLimits).ok());
}

std::vector<uint8_t> frame_to(const MacAddress& dst, uint16_t vlan = 0xffff) {
  std::vector<uint8_t> f(dst.bytes().begin(), dst.bytes().end());
  f.resize(16, 0);
  if (vlan != 0xffff) {
    f[12] = 0x81;
    f[13] = 0x00;
    f[14] = static_cast<uint8_t>(vlan >> 8);
    f[15] = static_cast<uint8_t>(vlan);
  }
  return f;
}

TEST(RxFilter, PromiscuousByDefault) {
  RxFilter f;
  f.mac = kA;
  EXPECT_TRUE(f.accepts(frame_to(kB)));
  EXPECT_TRUE(f.accepts_all());
}

TEST(RxFilter, UnicastMulticastBroadcast) {
  RxFilter f;
  f.mac = kA;
  f.promisc = false;
  EXPECT_TRUE(f.accepts(frame_to(kA)));
  EXPECT_FALSE(f.accepts(frame_to(kB)));
  EXPECT_TRUE(f.accepts(frame_to(MacAddress::broadcast())));
  EXPECT_FALSE(f.accepts(frame_to(kMulti)));
  f.multicast = {kMulti};
  EXPECT_TRUE(f.accepts(frame_to(kMulti)));
  f.unicast = {kB};
  EXPECT_TRUE(f.accepts(frame_to(kB)));
  f.nobcast = true;
  EXPECT_FALSE(f.accepts(frame_to(MacAddress::broadcast())));
  f.nomulti = true;
  EXPECT_FALSE(f.accepts(frame_to(kMulti)));
  f.nouni = true;
  EXPECT_FALSE(f.accepts(frame_to(kA)));
  f = RxFilter{};
  f.promisc = false;
  f.allmulti = true;
  f.alluni = true;
  EXPECT_TRUE(f.accepts(frame_to(kMulti)));
  EXPECT_TRUE(f.accepts(frame_to(kB)));
  EXPECT_FALSE(f.accepts(std::vector<uint8_t>(5, 0)));  // runt
}

TEST(RxFilter, Vlan) {
  RxFilter f;
  f.mac = kA;
  f.promisc = false;
  f.vlan_filtering = true;
  EXPECT_FALSE(f.accepts(frame_to(kA, 5)));
  f.vlans.set(5);
  EXPECT_TRUE(f.accepts(frame_to(kA, 5)));
  EXPECT_TRUE(f.accepts(frame_to(kA)));  // untagged
}

TEST(RxFilter, ApplyCommands) {
  RxFilter f;
  apply_to_filter(*parse_ctrl_command(cmd(kCtrlRx, kCtrlRxPromisc, {0}), kLimits), f);
  EXPECT_FALSE(f.promisc);
  apply_to_filter(*parse_ctrl_command(cmd(kCtrlVlan, kCtrlVlanAdd, {7, 0}), kLimits), f);
  EXPECT_TRUE(f.vlans.test(7));
  apply_to_filter(*parse_ctrl_command(cmd(kCtrlVlan, kCtrlVlanDel, {7, 0}), kLimits), f);
  EXPECT_FALSE(f.vlans.test(7));
  std::vector<uint8_t> data(kB.bytes().begin(), kB.bytes().end());
  apply_to_filter(*parse_ctrl_command(cmd(kCtrlMac, kCtrlMacAddrSet, data), kLimits), f);
  EXPECT_EQ(f.mac, kB);
}

}  // namespace
}  // namespace vmkit::net
