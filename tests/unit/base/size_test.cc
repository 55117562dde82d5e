#include "base/size.h"

#include <gtest/gtest.h>

namespace vmkit {
namespace {

TEST(ParseSize, Suffixes) {
  EXPECT_EQ(parse_size("4096").value(), 4096u);
  EXPECT_EQ(parse_size("512M").value(), 512ull << 20);
  EXPECT_EQ(parse_size("2g").value(), 2ull << 30);
  EXPECT_EQ(parse_size("1T").value(), 1ull << 40);
  EXPECT_EQ(parse_size("64KiB").value(), 64ull << 10);
  EXPECT_EQ(parse_size("3MB").value(), 3ull << 20);
  EXPECT_EQ(parse_size("512", 1 << 20).value(), 512ull << 20);
}

TEST(ParseSize, Rejects) {
  EXPECT_FALSE(parse_size("").ok());
  EXPECT_FALSE(parse_size("M").ok());
  EXPECT_FALSE(parse_size("-1").ok());
  EXPECT_FALSE(parse_size("1.5G").ok());
  EXPECT_FALSE(parse_size("12X").ok());
  EXPECT_FALSE(parse_size("99999999999999999999").ok());
  EXPECT_FALSE(parse_size("99999999999T").ok());
  EXPECT_EQ(parse_size("12X").error().message(),
            "invalid size '12X': unknown suffix (use K, M, G or T)");
}

TEST(FormatSize, Units) {
  EXPECT_EQ(format_size(512ull << 20), "512M");
  EXPECT_EQ(format_size(3ull << 30), "3G");
  EXPECT_EQ(format_size(1000), "1000");
}

}  // namespace
}  // namespace vmkit
