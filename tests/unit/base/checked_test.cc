#include "base/checked.h"

#include <gtest/gtest.h>

#include <limits>

namespace vmkit {
namespace {

TEST(Checked, AddMul) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(checked_add<uint64_t>(1, 2), 3u);
  EXPECT_FALSE(checked_add<uint64_t>(kMax, 1));
  EXPECT_FALSE(checked_mul<uint64_t>(kMax / 2 + 1, 2));
  EXPECT_EQ(checked_mul<uint32_t>(3, 4), 12u);
}

TEST(Checked, RangeWithin) {
  EXPECT_TRUE(range_within(0, 10, 10));
  EXPECT_TRUE(range_within(10, 0, 10));
  EXPECT_FALSE(range_within(5, 6, 10));
  EXPECT_FALSE(range_within(11, 0, 10));
  EXPECT_FALSE(range_within(1, std::numeric_limits<uint64_t>::max(), 10));
}

TEST(Checked, Align) {
  EXPECT_TRUE(is_power_of_two(256));
  EXPECT_FALSE(is_power_of_two(0));
  EXPECT_FALSE(is_power_of_two(6));
  EXPECT_EQ(align_up(4097, 4096), 8192u);
  EXPECT_EQ(align_down(4097, 4096), 4096u);
}

}  // namespace
}  // namespace vmkit
