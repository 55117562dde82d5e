#include "vmm/console.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/event_loop.h"
#include "base/unique_fd.h"

namespace vmkit {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(EscapeFilter, PassesAndQuits) {
  EscapeFilter f;
  auto a = f.feed(bytes("ls\r"));
  EXPECT_EQ(a.to_guest, "ls\r");
  EXPECT_FALSE(a.quit);
  auto b = f.feed(bytes("\x01\x01"));  // Ctrl-A Ctrl-A sends one Ctrl-A
  EXPECT_EQ(b.to_guest, "\x01");
  auto c = f.feed(bytes("ab\x01"));  // escape split across reads
  EXPECT_EQ(c.to_guest, "ab");
  auto d = f.feed(bytes("x"));
  EXPECT_TRUE(d.quit);
  auto h = f.feed(bytes("\x01h"));
  EXPECT_TRUE(h.help);
  EXPECT_EQ(h.to_guest, "");
}

// A unix socket console whose client is slow (reads nothing while the guest writes 768 KiB in
// 1 KiB pieces, far more than the socket buffers hold) still gets every byte, in order.
TEST(UnixConsole, SlowClientLosesNoOutput) {
  char dir_template[] = "/tmp/vmkit-console-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  std::string path = dir + "/c.sock";
  {
    auto loop = EventLoop::create();  // outlives the console, which unregisters from it
    ASSERT_TRUE(loop.ok());
    auto spec = ConsoleSpec::parse("unix:" + path);
    ASSERT_TRUE(spec.ok());
    auto console = Console::create(*spec);
    ASSERT_TRUE(console.ok()) << console.error().message();
    ASSERT_TRUE((*console)
                    ->attach(
                        **loop, [](std::span<const uint8_t>) {}, [] {})
                    .ok());

    UniqueFd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(client.valid());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    // SAFETY: sockaddr_un passed as the generic sockaddr.
    ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_TRUE((*loop)->run_once(1000).ok());  // accepts the client

    std::string sent;
    for (int i = 0; i < 768; ++i) {
      std::string piece(1024, static_cast<char>('a' + i % 26));
      piece.replace(0, std::to_string(i).size(), std::to_string(i));
      sent += piece;
      (*console)->write(bytes(piece));
    }
    std::string received;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (received.size() < sent.size() && std::chrono::steady_clock::now() < deadline) {
      char buf[65536];
      ssize_t n = ::recv(client.get(), buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) {
        received.append(buf, static_cast<size_t>(n));
      } else {
        ASSERT_TRUE((*loop)->run_once(100).ok());  // the console sends what waits
      }
    }
    EXPECT_EQ(received.size(), sent.size());
    EXPECT_TRUE(received == sent) << "the client received other bytes than were written";
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vmkit
