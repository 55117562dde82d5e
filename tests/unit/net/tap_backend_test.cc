// The tap backend on real taps, in a network namespace the test creates (never the host's own
// network). Needs root (CAP_NET_ADMIN) and /dev/net/tun: it fails, not skips, without them.
#include "net/tap_backend.h"

#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <optional>

#include "netns.h"
#include "packets.h"

namespace vmkit {
namespace {

using testing::get16;
using testing::get32;

const MacAddress kGuest({0x52, 0x54, 0x00, 0x12, 0x34, 0x56});
constexpr uint32_t kHostIp = 0x0a630001;   // 10.99.0.1 (the tap's side)
constexpr uint32_t kGuestIp = 0x0a630002;  // 10.99.0.2 (behind the tap)

class TapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ns_.ok()) << "cannot create network namespace " << ns_.name()
                          << " (needs root and iproute2)";
  }
  // Opens the tap inside the namespace and configures its host side.
  std::unique_ptr<TapBackend> open_tap(uint16_t queues = 1) {
    if (!ns_.enter()) return nullptr;
    auto tap = TapBackend::open("vmktap0", queues);
    ns_.leave();
    if (!tap.ok()) {
      ADD_FAILURE() << tap.error().message();
      return nullptr;
    }
    EXPECT_EQ(ns_.exec("ip link set vmktap0 up && ip addr add 10.99.0.1/24 dev vmktap0 && "
                       "ip neigh add 10.99.0.2 lladdr 52:54:00:12:34:56 dev vmktap0"),
              0);
    return std::move(tap).value();
  }
  // A socket created inside the namespace.
  UniqueFd ns_socket(int domain, int type, int protocol = 0) {
    ns_.enter();
    UniqueFd s(::socket(domain, type | SOCK_CLOEXEC, protocol));
    ns_.leave();
    return s;
  }
  MacAddress tap_mac(int fd_in_ns) {
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "vmktap0");
    ::ioctl(fd_in_ns, SIOCGIFHWADDR, &ifr);
    MacAddress::Bytes b;
    std::memcpy(b.data(), ifr.ifr_hwaddr.sa_data, 6);
    return MacAddress(b);
  }
  // Reads frames from the tap queue for up to a second until one matches.
  std::optional<std::vector<uint8_t>> read_frame(
      NetQueue& q, const std::function<bool(const std::vector<uint8_t>&)>& match) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    std::vector<uint8_t> buf(70000);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{q.rx_fd(), POLLIN, 0};
      ::poll(&p, 1, 50);
      iovec iov{buf.data(), buf.size()};
      auto n = q.receive(std::span<const iovec>(&iov, 1));
      if (!n.ok() || *n == 0) continue;
      std::vector<uint8_t> f(buf.begin(), buf.begin() + static_cast<long>(*n));
      if (match(f)) return f;
    }
    return std::nullopt;
  }

  testing::NetNamespace ns_{"vmkit-tap-test"};

 public:
  std::optional<std::vector<uint8_t>> read_frame_public(
      NetQueue& q, const std::function<bool(const std::vector<uint8_t>&)>& match) {
    return read_frame(q, match);
  }
};

bool is_udp_to(const std::vector<uint8_t>& f, uint16_t dport) {
  return f.size() >= 12 + 42 && get16(f, 12 + 12) == 0x0800 && f[12 + 23] == 17 &&
         get16(f, 12 + 36) == dport;
}

TEST_F(TapTest, HostToGuestFrameCarriesAVnetHeader) {
  auto tap = open_tap();
  ASSERT_TRUE(tap);
  EXPECT_EQ(tap->describe(), "tap vmktap0");
  EXPECT_TRUE(tap->rx_offloads_supported().tso4);
  UniqueFd udp = ns_socket(AF_INET, SOCK_DGRAM);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(kGuestIp);
  to.sin_port = htons(9999);
  ASSERT_EQ(::sendto(udp.get(), "hello", 5, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 5);
  auto f = read_frame(tap->queue(0), [](const auto& fr) { return is_udp_to(fr, 9999); });
  ASSERT_TRUE(f);
  EXPECT_EQ(std::vector<uint8_t>(f->begin() + 12, f->begin() + 18),
            std::vector<uint8_t>(kGuest.bytes().begin(), kGuest.bytes().end()));
  EXPECT_EQ(std::string(f->end() - 5, f->end()), "hello");
}

// What the device relies on: a frame larger than the buffers is cut to them (read returns the
// buffers' size) and its rest is gone; the next read returns the next frame.
TEST_F(TapTest, ReadIntoSmallBuffersTruncatesTheFrame) {
  auto tap = open_tap();
  ASSERT_TRUE(tap);
  UniqueFd udp = ns_socket(AF_INET, SOCK_DGRAM);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(kGuestIp);
  to.sin_port = htons(9999);
  std::vector<char> payload(1000, 'x');
  for (int i = 0; i < 2; ++i) {
    ASSERT_GT(::sendto(udp.get(), payload.data(), payload.size(), 0,
                       reinterpret_cast<sockaddr*>(&to), sizeof(to)),
              0);
  }
  pollfd p{tap->queue(0).rx_fd(), POLLIN, 0};
  int ours = 0;
  for (int i = 0; i < 40 && ours < 2; ++i) {  // skip IPv6 router solicitations and the like
    ASSERT_GT(::poll(&p, 1, 2000), 0);
    std::vector<uint8_t> small(100);
    iovec iov{small.data(), small.size()};
    auto n = tap->queue(0).receive(std::span<const iovec>(&iov, 1));
    ASSERT_TRUE(n.ok());
    if (*n == small.size() && is_udp_to(small, 9999)) ++ours;
  }
  EXPECT_EQ(ours, 2) << "each UDP frame was read once, cut to 100 bytes";
}

TEST_F(TapTest, GuestToHostWithChecksumOffload) {
  auto tap = open_tap();
  ASSERT_TRUE(tap);
  UniqueFd server = ns_socket(AF_INET, SOCK_DGRAM);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(kHostIp);
  at.sin_port = htons(7777);
  ASSERT_EQ(::bind(server.get(), reinterpret_cast<sockaddr*>(&at), sizeof(at)), 0);
  MacAddress host_mac = tap_mac(server.get());
  std::vector<uint8_t> payload{'p', 'i', 'n', 'g'};

  // A partial checksum finished by the host kernel (NEEDS_CSUM).
  auto frame = testing::udp_frame(host_mac, kGuest, kGuestIp, kHostIp, 5555, 7777, payload, true);
  VnetHeader h;
  h.flags = VnetHeader::kFlagNeedsCsum;
  h.csum_start = 34;
  h.csum_offset = 6;
  iovec iov[2] = {{&h, sizeof(h)}, {frame.data(), frame.size()}};
  ASSERT_EQ(*tap->queue(0).send(std::span<const iovec>(iov, 2)), SendResult::kSent);
  // A wrong checksum without NEEDS_CSUM: the host drops it.
  auto bad = testing::udp_frame(host_mac, kGuest, kGuestIp, kHostIp, 5555, 7777, {'b', 'a', 'd'},
                                false, true);
  VnetHeader none;
  iovec iov_bad[2] = {{&none, sizeof(none)}, {bad.data(), bad.size()}};
  ASSERT_EQ(*tap->queue(0).send(std::span<const iovec>(iov_bad, 2)), SendResult::kSent);

  pollfd p{server.get(), POLLIN, 0};
  ASSERT_GT(::poll(&p, 1, 2000), 0);
  char got[16] = {};
  EXPECT_EQ(::recv(server.get(), got, sizeof(got), 0), 4);
  EXPECT_STREQ(got, "ping");
  EXPECT_LE(::poll(&p, 1, 200), 0) << "the frame with a bad checksum was delivered";
}

// A 4000-byte TCP segment sent into the tap through a packet socket with a GSO header: the tap
// hands it over whole when TSO4 is among its offloads, segmented by the kernel otherwise.
std::vector<uint8_t> tcp_gso_frame(const MacAddress& dst, const MacAddress& src, size_t payload) {
  auto f = testing::ethernet(dst, src, 0x0800, 40 + payload);
  f[14] = 0x45;
  testing::put16(f, 16, static_cast<uint16_t>(40 + payload));
  f[14 + 8] = 64;
  f[14 + 9] = 6;
  testing::put32(f, 26, kHostIp);
  testing::put32(f, 30, kGuestIp);
  testing::put16(f, 24, testing::ip_checksum(f.data() + 14, 20));
  testing::put16(f, 34, 40000);
  testing::put16(f, 36, 5001);
  f[46] = 0x50;  // data offset 5
  f[47] = 0x18;  // PSH, ACK
  testing::put16(f, 48, 65535);
  return f;
}

size_t inject_gso_and_count(TapTest* t, testing::NetNamespace& ns, TapBackend& tap,
                            std::vector<VnetHeader>& headers) {
  ns.enter();
  UniqueFd pkt(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
  unsigned ifindex = if_nametoindex("vmktap0");
  ns.leave();
  if (!pkt || ifindex == 0) return 0;
  int one = 1;
  ::setsockopt(pkt.get(), SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one));
  sockaddr_ll ll{};
  ll.sll_family = AF_PACKET;
  ll.sll_ifindex = static_cast<int>(ifindex);
  ll.sll_protocol = htons(ETH_P_IP);
  ::bind(pkt.get(), reinterpret_cast<sockaddr*>(&ll), sizeof(ll));
  auto frame = tcp_gso_frame(kGuest, MacAddress({0x02, 1, 2, 3, 4, 5}), 4000);
  struct {  // struct virtio_net_hdr: a packet socket's vnet header has no num_buffers
    uint8_t flags, gso_type;
    uint16_t hdr_len, gso_size, csum_start, csum_offset;
  } vh{};
  vh.flags = VnetHeader::kFlagNeedsCsum;
  vh.gso_type = VnetHeader::kGsoTcpV4;
  vh.hdr_len = 54;
  vh.gso_size = 1000;
  vh.csum_start = 34;
  vh.csum_offset = 16;
  iovec iov[2] = {{&vh, sizeof(vh)}, {frame.data(), frame.size()}};
  msghdr m{};
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  if (::sendmsg(pkt.get(), &m, 0) < 0) {
    ADD_FAILURE() << "packet socket send: " << std::strerror(errno);
    return 0;
  }
  size_t payload = 0;
  while (payload < 4000) {
    auto f = t->read_frame_public(tap.queue(0), [](const auto& fr) {
      return fr.size() > 12 + 54 && get16(fr, 12 + 12) == 0x0800 && fr[12 + 23] == 6;
    });
    if (!f) break;
    VnetHeader h;
    std::memcpy(&h, f->data(), sizeof(h));
    headers.push_back(h);
    payload += f->size() - 12 - 54;
  }
  return payload;
}

TEST_F(TapTest, GsoFramesReachTheGuestWholeOnlyWithTso) {
  auto tap = open_tap();
  ASSERT_TRUE(tap);
  std::vector<VnetHeader> headers;
  ASSERT_TRUE(tap->set_rx_offloads(NetOffloads{true, true, true, false}).ok());
  EXPECT_EQ(inject_gso_and_count(this, ns_, *tap, headers), 4000u);
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers[0].gso_type, VnetHeader::kGsoTcpV4);
  EXPECT_EQ(headers[0].gso_size, 1000);

  headers.clear();
  ASSERT_TRUE(tap->set_rx_offloads(NetOffloads{}).ok());
  EXPECT_EQ(inject_gso_and_count(this, ns_, *tap, headers), 4000u);
  EXPECT_EQ(headers.size(), 4u);  // segmented by the host kernel
  for (const VnetHeader& h : headers) EXPECT_EQ(h.gso_type, VnetHeader::kGsoNone);
}

TEST_F(TapTest, MultiQueueAttachDetach) {
  auto tap = open_tap(2);
  ASSERT_TRUE(tap);
  ASSERT_EQ(tap->num_queues(), 2u);
  EXPECT_NE(tap->queue(0).rx_fd(), tap->queue(1).rx_fd());
  EXPECT_TRUE(tap->queue(1).set_enabled(false).ok());
  EXPECT_TRUE(tap->queue(1).set_enabled(true).ok());
}

TEST_F(TapTest, QueueCountMismatchWithAPersistentTapIsAClearError) {
  ASSERT_EQ(ns_.exec("ip tuntap add dev vmktap1 mode tap"), 0);
  ASSERT_TRUE(ns_.enter());
  auto tap = TapBackend::open("vmktap1", 2);
  auto single = TapBackend::open("vmktap1", 1);
  ns_.leave();
  ASSERT_FALSE(tap.ok());
  EXPECT_NE(tap.error().message().find("multi_queue"), std::string::npos) << tap.error().message();
  EXPECT_TRUE(single.ok()) << single.error().message();
}

TEST(TapBackend, BadNames) {
  EXPECT_FALSE(TapBackend::open("", 1).ok());
  EXPECT_FALSE(TapBackend::open("a-name-of-16-byt", 1).ok());
}

}  // namespace
}  // namespace vmkit
