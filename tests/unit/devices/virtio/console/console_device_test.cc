#include "devices/virtio/console/console_device.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "base/unique_fd.h"
#include "device_harness.h"

namespace vmkit {
namespace {

using testing::DeviceHarness;

constexpr uint16_t kRx = 0;
constexpr uint16_t kTx = 1;

struct Pipe {
  explicit Pipe(int flags = O_NONBLOCK | O_CLOEXEC) {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, flags), 0);
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
  }
  UniqueFd read_end, write_end;
};

std::vector<uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

// Reads what arrives on `fd` until `n` bytes or a timeout.
std::string read_n(int fd, size_t n) {
  std::string out;
  for (int i = 0; i < 200 && out.size() < n; ++i) {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 25);
    char buf[65536];
    ssize_t got = ::read(fd, buf, std::min(sizeof(buf), n - out.size()));
    if (got > 0) out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

TEST(ConsoleDevice, Identity) {
  ConsoleDevice dev({});
  EXPECT_EQ(dev.device_type(), 3u);
  EXPECT_EQ(dev.queue_max_sizes().size(), 2u);
  EXPECT_EQ(dev.device_features(), 0u);  // no SIZE, no MULTIPORT
  ConsoleDevice::Config c{};
  ASSERT_EQ(dev.config_size(), sizeof(c));
  dev.read_config(0, std::span(reinterpret_cast<uint8_t*>(&c), sizeof(c)));
  EXPECT_EQ(c.max_nr_ports, 1u);
}

TEST(ConsoleDevice, GuestOutputReachesTheHost) {
  Pipe out;
  ConsoleDevice dev({-1, out.write_end.get()});
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  h.driver(kTx).chain().readable(bytes("hello ")).readable(bytes("world\n")).publish();
  h.kick(kTx);
  EXPECT_EQ(read_n(out.read_end.get(), 12), "hello world\n");
  ASSERT_TRUE(h.wait_used(kTx, 1));
  EXPECT_EQ(h.driver(kTx).pop_used()->len, 0u);
}

TEST(ConsoleDevice, HostInputReachesTheGuest) {
  Pipe in;
  ConsoleDevice dev({in.read_end.get(), -1});
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  GuestAddress buf;
  h.driver(kRx).chain().writable(16, &buf).publish();
  h.kick(kRx);
  ASSERT_EQ(::write(in.write_end.get(), "abc", 3), 3);
  ASSERT_TRUE(h.wait_used(kRx, 1));
  EXPECT_EQ(h.driver(kRx).pop_used()->len, 3u);
  EXPECT_EQ(h.driver(kRx).read(buf, 3), bytes("abc"));
  EXPECT_GE(h.irq.used[kRx].load(), 1);
}

TEST(ConsoleDevice, InputWaitsForGuestBuffers) {
  Pipe in;
  ConsoleDevice dev({in.read_end.get(), -1});
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  ASSERT_EQ(::write(in.write_end.get(), "early", 5), 5);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(h.driver(kRx).used_idx(), 0);
  GuestAddress buf;
  h.driver(kRx).chain().writable(3, &buf).publish();
  h.driver(kRx).chain().writable(8).publish();
  h.kick(kRx);
  ASSERT_TRUE(h.wait_used(kRx, 2));
  EXPECT_EQ(h.driver(kRx).pop_used()->len, 3u);
  EXPECT_EQ(h.driver(kRx).pop_used()->len, 2u);
  EXPECT_EQ(h.driver(kRx).read(buf, 3), bytes("ear"));
}

TEST(ConsoleDevice, OutputBackpressure) {
  Pipe out;
  ASSERT_GT(::fcntl(out.write_end.get(), F_SETPIPE_SZ, 4096), 0);
  ConsoleDevice dev({-1, out.write_end.get()});
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  std::vector<uint8_t> big(65536);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 13);
  h.driver(kTx).chain().readable(big).publish();
  h.driver(kTx).chain().readable(bytes("tail")).publish();
  h.kick(kTx);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(h.driver(kTx).used_idx(), 0);  // the host has not taken it all yet
  std::string got = read_n(out.read_end.get(), big.size() + 4);
  ASSERT_EQ(got.size(), big.size() + 4);
  EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.begin() + 65536), big);
  EXPECT_EQ(got.substr(65536), "tail");
  ASSERT_TRUE(h.wait_used(kTx, 2));
}

TEST(ConsoleDevice, OneSocketForBothDirections) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd ours(sv[0]), host(sv[1]);
  ConsoleDevice dev({host.get(), host.get()});
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  h.driver(kRx).chain().writable(32).publish();
  h.kick(kRx);
  h.driver(kTx).chain().readable(bytes("ping")).publish();
  h.kick(kTx);
  EXPECT_EQ(read_n(ours.get(), 4), "ping");
  ASSERT_EQ(::write(ours.get(), "pong", 4), 4);
  ASSERT_TRUE(h.wait_used(kRx, 1));
  EXPECT_EQ(h.driver(kRx).pop_used()->len, 4u);
}

TEST(ConsoleDevice, InputEofStopsReadingButOutputGoesOn) {
  Pipe in, out;
  ConsoleDevice dev({in.read_end.get(), out.write_end.get()});
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  h.driver(kRx).chain().writable(8).publish();
  h.kick(kRx);
  in.write_end.reset();  // EOF
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(h.driver(kRx).used_idx(), 0);
  h.driver(kTx).chain().readable(bytes("still here")).publish();
  h.kick(kTx);
  EXPECT_EQ(read_n(out.read_end.get(), 10), "still here");
}

TEST(ConsoleDevice, ClosedOutputDiscardsAndCompletes) {
  Pipe out;
  out.read_end.reset();  // writes now fail with EPIPE (SIGPIPE is ignored below)
  ::signal(SIGPIPE, SIG_IGN);
  ConsoleDevice dev({-1, out.write_end.get()});
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  h.driver(kTx).chain().readable(bytes("lost")).publish();
  h.driver(kTx).chain().readable(bytes("lost too")).publish();
  h.kick(kTx);
  ASSERT_TRUE(h.wait_used(kTx, 2));
}

TEST(ConsoleDevice, BlockingInputFd) {
  Pipe in(O_CLOEXEC);  // blocking
  ConsoleDevice dev({in.read_end.get(), -1});
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  h.driver(kRx).chain().writable(4).publish();
  h.driver(kRx).chain().writable(4).publish();
  h.kick(kRx);
  ASSERT_EQ(::write(in.write_end.get(), "12345678", 8), 8);
  ASSERT_TRUE(h.wait_used(kRx, 2));  // two readiness events, one read each, no hang
  dev.reset();                       // the thread is not stuck in read(2)
}

TEST(ConsoleDevice, BlockingInputWithoutDataDoesNotStallOutput) {
  Pipe in(O_CLOEXEC), out;  // blocking input, nothing written to it
  ConsoleDevice dev({in.read_end.get(), out.write_end.get()});
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  h.driver(kRx).chain().writable(4).publish();
  h.kick(kRx);
  h.driver(kTx).chain().readable(bytes("out")).publish();
  h.kick(kTx);
  EXPECT_EQ(read_n(out.read_end.get(), 3), "out");
  ASSERT_TRUE(h.wait_used(kTx, 1));
  dev.reset();
}

TEST(ConsoleDevice, BrokenTransmitRingAsksForReset) {
  Pipe out;
  ConsoleDevice dev({-1, out.write_end.get()});
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate().ok());
  h.driver(kTx).set_avail_idx(500);
  h.kick(kTx);
  ASSERT_TRUE(h.irq.wait_until([&] { return h.irq.device_errors.load() == 1; }));
}

TEST(ConsoleDevice, OnlyTransmitQueueEnabled) {
  Pipe in, out;
  ConsoleDevice dev({in.read_end.get(), out.write_end.get()});
  DeviceHarness h(dev);
  ASSERT_TRUE(h.activate_only(DeviceHarness::kRingFeatures, {kTx}).ok());
  ASSERT_EQ(::write(in.write_end.get(), "x", 1), 1);  // nowhere to go: not read
  h.driver(kTx).chain().readable(bytes("ok")).publish();
  h.kick(kTx);
  EXPECT_EQ(read_n(out.read_end.get(), 2), "ok");
}

}  // namespace
}  // namespace vmkit
