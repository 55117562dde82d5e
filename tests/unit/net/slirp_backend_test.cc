// User-mode networking, driven as the device's thread does: poll service_fd() and rx_fd().
#include "net/slirp_backend.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <chrono>
#include <functional>

#include "packets.h"

namespace vmkit {
namespace {

using testing::get16;
using testing::get32;

const MacAddress kGuest({0x52, 0x54, 0x00, 0x12, 0x34, 0x56});

// A free TCP port on 127.0.0.1 (bound and released: a tiny race, acceptable in tests).
uint16_t free_port() {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

Status send_frame(SlirpBackend& b, const std::vector<uint8_t>& frame) {
  VnetHeader h;
  iovec iov[2] = {{&h, sizeof(h)}, {const_cast<uint8_t*>(frame.data()), frame.size()}};
  auto r = b.send(std::span<const iovec>(iov, 2));
  if (!r.ok()) return std::move(r).error();
  if (*r != SendResult::kSent) return Error("not sent");
  return {};
}

// Runs the backend for up to `timeout` until a received frame (header stripped) satisfies
// `match`; returns it.
std::optional<std::vector<uint8_t>> wait_frame(
    SlirpBackend& b, const std::function<bool(const std::vector<uint8_t>&)>& match,
    std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<uint8_t> buf(70000);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd fds[2] = {{b.service_fd(), POLLIN, 0}, {b.rx_fd(), POLLIN, 0}};
    ::poll(fds, 2, 50);
    if (fds[0].revents & POLLIN) b.service();
    while (true) {
      iovec iov{buf.data(), buf.size()};
      auto n = b.receive(std::span<const iovec>(&iov, 1));
      if (!n.ok() || *n == 0) break;
      std::vector<uint8_t> frame(buf.begin() + kVnetHeaderSize,
                                 buf.begin() + static_cast<long>(*n));
      if (match(frame)) return frame;
    }
  }
  return std::nullopt;
}

TEST(SlirpBackend, AnswersArpForTheGateway) {
  auto b = SlirpBackend::create({}).value();
  EXPECT_EQ(b->num_queues(), 1u);
  EXPECT_EQ(b->tx_offloads(), NetOffloads{});
  ASSERT_TRUE(send_frame(*b, testing::arp_request(kGuest, kUserDhcpStart, kUserHost)).ok());
  auto reply = wait_frame(*b, [](const auto& f) { return get16(f, 12) == 0x0806; });
  ASSERT_TRUE(reply);
  EXPECT_EQ(get16(*reply, 20), 2);          // ARP reply
  EXPECT_EQ(get32(*reply, 28), kUserHost);  // 10.0.2.2 is at...
  EXPECT_EQ(std::vector<uint8_t>(reply->begin(), reply->begin() + 6),
            std::vector<uint8_t>(kGuest.bytes().begin(), kGuest.bytes().end()));
}

TEST(SlirpBackend, OffersADhcpLease) {
  auto b = SlirpBackend::create({}).value();
  ASSERT_TRUE(send_frame(*b, testing::dhcp_discover(kGuest)).ok());
  auto offer = wait_frame(*b, [](const auto& f) {
    return f.size() > 42 + 240 && get16(f, 12) == 0x0800 && f[23] == 17 && get16(f, 36) == 68;
  });
  ASSERT_TRUE(offer);
  size_t bootp = 42;
  EXPECT_EQ((*offer)[bootp], 2);                         // BOOTREPLY
  EXPECT_EQ(get32(*offer, bootp + 16), kUserDhcpStart);  // yiaddr 10.0.2.15
}

TEST(SlirpBackend, ForwardsAHostPortIntoTheGuest) {
  uint16_t port = free_port();
  SlirpParams params;
  HostForward fwd;
  fwd.host_addr = 0x7f000001;
  fwd.host_port = port;
  fwd.guest_port = 22;
  params.hostfwd.push_back(fwd);
  auto b = SlirpBackend::create(params).value();
  // The guest announces itself (slirp learns its MAC from ARP).
  ASSERT_TRUE(send_frame(*b, testing::arp_request(kGuest, kUserDhcpStart, kUserHost)).ok());
  ASSERT_TRUE(wait_frame(*b, [](const auto& f) { return get16(f, 12) == 0x0806; }));

  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  ::connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a));
  auto syn = wait_frame(
      *b, [](const auto& f) { return f.size() >= 54 && get16(f, 12) == 0x0800 && f[23] == 6; });
  ASSERT_TRUE(syn) << "no SYN towards the guest";
  EXPECT_EQ(get32(*syn, 30), kUserDhcpStart);  // to 10.0.2.15
  EXPECT_EQ(get16(*syn, 36), 22);              // port 22
  EXPECT_TRUE((*syn)[47] & 0x02);              // SYN
}

TEST(SlirpBackend, BusyHostPortIsAClearError) {
  uint16_t port = free_port();
  SlirpParams params;
  HostForward fwd;
  fwd.host_addr = 0x7f000001;
  fwd.host_port = port;
  fwd.guest_port = 22;
  params.hostfwd.push_back(fwd);
  auto first = SlirpBackend::create(params);
  ASSERT_TRUE(first.ok());
  auto second = SlirpBackend::create(params);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message().find(fmt::format("tcp port {}", port)), std::string::npos)
      << second.error().message();
}

TEST(SlirpBackend, BacklogIsBoundedWhenTheGuestTakesNothing) {
  auto b = SlirpBackend::create({}).value();
  for (size_t i = 0; i < SlirpBackend::kBacklogFrames + 100; ++i) {
    ASSERT_TRUE(send_frame(*b, testing::arp_request(kGuest, kUserDhcpStart, kUserHost)).ok());
  }
  EXPECT_EQ(b->backlog_size(), SlirpBackend::kBacklogFrames);
  EXPECT_EQ(b->dropped(), 100u);
}

TEST(SlirpBackend, ReceiveIntoSmallBuffersCutsTheFrame) {
  auto b = SlirpBackend::create({}).value();
  ASSERT_TRUE(send_frame(*b, testing::arp_request(kGuest, kUserDhcpStart, kUserHost)).ok());
  ASSERT_EQ(b->backlog_size(), 1u);
  uint8_t small[20];
  iovec iov{small, sizeof(small)};
  auto n = b->receive(std::span<const iovec>(&iov, 1));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, sizeof(small));  // cut to the buffer, as the tap does
  EXPECT_EQ(b->backlog_size(), 0u);
}

TEST(SlirpBackend, RuntFramesAreRefused) {
  auto b = SlirpBackend::create({}).value();
  std::vector<uint8_t> runt(5, 0);
  VnetHeader h;
  iovec iov[2] = {{&h, sizeof(h)}, {runt.data(), runt.size()}};
  EXPECT_EQ(*b->send(std::span<const iovec>(iov, 2)), SendResult::kDropped);
}

}  // namespace
}  // namespace vmkit
