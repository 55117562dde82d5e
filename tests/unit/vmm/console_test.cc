#include "vmm/console.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace vmkit
