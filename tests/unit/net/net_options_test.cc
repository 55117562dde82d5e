#include "net/net_options.h"

#include <gtest/gtest.h>

namespace vmkit {
namespace {

TEST(NetOptions, Tap) {
  auto o = parse_net_options("tap,ifname=vmtap0,mac=52:54:00:12:34:56,queues=4,link=off");
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->kind, NetBackendKind::kTap);
  EXPECT_EQ(o->ifname, "vmtap0");
  EXPECT_EQ(o->mac->to_string(), "52:54:00:12:34:56");
  EXPECT_EQ(o->queues, 4);
  EXPECT_FALSE(o->link_up);
}

TEST(NetOptions, UserWithForwards) {
  auto o = parse_net_options("user,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-10.0.2.15:53");
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->kind, NetBackendKind::kUser);
  EXPECT_FALSE(o->mac);
  EXPECT_TRUE(o->link_up);
  ASSERT_EQ(o->hostfwd.size(), 2u);
  EXPECT_EQ(o->hostfwd[0].to_string(), "tcp:0.0.0.0:2222-10.0.2.15:22");
  EXPECT_EQ(o->hostfwd[1].to_string(), "udp:127.0.0.1:5353-10.0.2.15:53");
  EXPECT_TRUE(parse_net_options("user").ok());
  EXPECT_TRUE(parse_net_options("user,hostfwd=::8080-:80").ok());  // protocol defaults to tcp
}

struct BadCase {
  const char* text;
  const char* message;  // a part of the error
};

TEST(NetOptions, ClearErrors) {
  const BadCase cases[] = {
      {"", "unknown network backend ''"},
      {"bridge", "unknown network backend 'bridge'"},
      {"tap", "needs ifname=NAME"},
      {"tap,ifname=", "not an interface name"},
      {"tap,ifname=a-very-long-name-indeed", "not an interface name"},
      {"tap,ifname=a/b", "not an interface name"},
      {"tap,ifname=t0,queues=0", "'queues': expected 1 to 16"},
      {"tap,ifname=t0,queues=17", "'queues': expected 1 to 16"},
      {"tap,ifname=t0,queues=2x", "'queues'"},
      {"tap,ifname=t0,hostfwd=tcp::1-:2", "unknown tap net option 'hostfwd'"},
      {"user,ifname=t0", "unknown user net option 'ifname'"},
      {"user,queues=2", "unknown user net option 'queues'"},
      {"user,mac=01:00:00:00:00:01", "not a unicast address"},
      {"user,mac=00:00:00:00:00:00", "not a unicast address"},
      {"user,mac=zz", "invalid MAC address"},
      {"user,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57", "given twice"},
      {"user,link=maybe", "expected on or off"},
      {"user,hostfwd", "has no value"},
      {"user,hostfwd=tcp::2222", "no '-'"},
      {"user,hostfwd=sctp::1-:2", "protocol 'sctp'"},
      {"user,hostfwd=tcp::0-:22", "host port '0'"},
      {"user,hostfwd=tcp::65536-:22", "host port '65536'"},
      {"user,hostfwd=tcp::22-:", "guest port ''"},
      {"user,hostfwd=tcp:1.2.3:22-:22", "host address"},
      {"user,hostfwd=tcp::22-10.0.3.4:22", "not a guest address"},
      {"user,hostfwd=tcp::22-10.0.2.2:22", "not a guest address"},
      {"user,hostfwd=tcp::22-:22,hostfwd=tcp:127.0.0.1:22-:23", "forwarded twice"},
      {"user,hostfwd=tcp::22:1-:22", "host side"},
  };
  for (const BadCase& c : cases) {
    auto o = parse_net_options(c.text);
    ASSERT_FALSE(o.ok()) << c.text;
    EXPECT_NE(o.error().message().find(c.message), std::string::npos)
        << c.text << " -> " << o.error().message();
    EXPECT_EQ(o.error().message().find('\n'), std::string::npos);
  }
}

TEST(NetOptions, UdpAndTcpMayShareAPort) {
  EXPECT_TRUE(parse_net_options("user,hostfwd=tcp::53-:53,hostfwd=udp::53-:53").ok());
}

TEST(NetOptions, Ipv4) {
  EXPECT_EQ(*parse_ipv4("10.0.2.15"), 0x0a00020fu);
  EXPECT_EQ(format_ipv4(0x7f000001), "127.0.0.1");
  for (const char* bad :
       {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "01234.1.1.1", "a.b.c.d"}) {
    EXPECT_FALSE(parse_ipv4(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace vmkit
