#include "net/mac_address.h"

#include <gtest/gtest.h>

namespace vmkit {
namespace {

TEST(MacAddress, ParseAndFormat) {
  auto mac = MacAddress::parse("52:54:00:AB:cd:0f");
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(mac->to_string(), "52:54:00:ab:cd:0f");
  EXPECT_EQ(MacAddress::parse("52-54-00-ab-cd-0f")->to_string(), "52:54:00:ab:cd:0f");
  for (const char* bad :
       {"", "52:54:00:ab:cd", "52:54:00:ab:cd:0f:00", "52:54:00:ab:cd:0g", "52:54-00:ab:cd:0f",
        "5254.00ab.cd0f", "52:54:00:ab:cd:f ", " 2:54:00:ab:cd:0f"}) {
    auto r = MacAddress::parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.error().message().find("invalid MAC address"), std::string::npos);
    }
  }
}

TEST(MacAddress, Kinds) {
  EXPECT_TRUE(MacAddress::broadcast().is_broadcast());
  EXPECT_TRUE(MacAddress::broadcast().is_multicast());
  EXPECT_TRUE(MacAddress::parse("01:00:5e:00:00:01")->is_multicast());
  EXPECT_FALSE(MacAddress::parse("52:54:00:00:00:01")->is_multicast());
  EXPECT_TRUE(MacAddress().is_zero());
}

TEST(MacAddress, RandomIsLocallyAdministeredUnicastAndDiffers) {
  MacAddress a = MacAddress::random_local();
  MacAddress b = MacAddress::random_local();
  EXPECT_TRUE(a.is_locally_administered());
  EXPECT_FALSE(a.is_multicast());
  EXPECT_NE(a, b);  // 2^-46 chance of a false failure
}

}  // namespace
}  // namespace vmkit
