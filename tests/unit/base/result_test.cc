#include "base/result.h"

#include <gtest/gtest.h>

namespace vmkit {
namespace {

Result<int> half(int v) {
  if (v % 2) return Error("odd value " + std::to_string(v));
  return v / 2;
}

Result<int> quarter(int v) {
  int h = TRY(half(v));
  return TRY(half(h));
}

Status check_even(int v) {
  TRY(half(v));
  return {};
}

TEST(Result, ValueAndError) {
  auto r = half(8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 4);
  auto e = half(3);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message(), "odd value 3");
}

TEST(Result, TryPropagates) {
  EXPECT_EQ(quarter(8).value(), 2);
  EXPECT_EQ(quarter(6).error().message(), "odd value 3");
  EXPECT_TRUE(check_even(2).ok());
  EXPECT_FALSE(check_even(1).ok());
}

TEST(Result, ErrnoMessage) {
  Error e = Error::from_errno("open /nope", ENOENT);
  EXPECT_EQ(e.message(), "open /nope: No such file or directory");
  EXPECT_EQ(e.sys_errno(), ENOENT);
  EXPECT_EQ(e.context("disk").message(), "disk: open /nope: No such file or directory");
}

}  // namespace
}  // namespace vmkit
