#include "base/uuid.h"

#include <gtest/gtest.h>

namespace vmkit {
namespace {

TEST(Uuid, RoundTrip) {
  auto u = Uuid::parse("6F1B2C3D-4E5F-4a6b-8c7d-0123456789ab");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->to_string(), "6f1b2c3d-4e5f-4a6b-8c7d-0123456789ab");
  EXPECT_EQ(u->bytes[0], 0x6f);
}

TEST(Uuid, RejectsMalformed) {
  EXPECT_FALSE(Uuid::parse("").ok());
  EXPECT_FALSE(Uuid::parse("6f1b2c3d-4e5f-4a6b-8c7d-0123456789a").ok());
  EXPECT_FALSE(Uuid::parse("6f1b2c3d+4e5f-4a6b-8c7d-0123456789ab").ok());
  EXPECT_FALSE(Uuid::parse("6f1b2c3d-4e5f-4a6b-8c7d-0123456789ag").ok());
}

TEST(Uuid, RandomIsVersion4AndDiffers) {
  Uuid a = Uuid::random(), b = Uuid::random();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.bytes[6] >> 4, 4);
  EXPECT_EQ(a.bytes[8] >> 6, 2);
}

}  // namespace
}  // namespace vmkit
