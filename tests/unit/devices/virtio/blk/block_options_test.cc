#include "devices/virtio/blk/block_options.h"

#include <gtest/gtest.h>

namespace vmkit {
namespace {

TEST(BlockOptions, Full) {
  auto o = parse_block_options(
      "path=/var/disk.img,readonly=on,serial=ABC-123,cache=none,format=qcow2,queues=4,"
      "poll-max-ns=0");
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->path, "/var/disk.img");
  EXPECT_TRUE(o->read_only);
  EXPECT_EQ(o->serial, "ABC-123");
  EXPECT_EQ(o->cache, CacheMode::kNone);
  EXPECT_EQ(o->format, "qcow2");
  EXPECT_EQ(o->queues, 4);
  EXPECT_EQ(o->poll_max_ns, 0u);
}

TEST(BlockOptions, Defaults) {
  auto o = parse_block_options("path=disk.img");
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->read_only);
  EXPECT_EQ(o->serial, "");
  EXPECT_EQ(o->cache, CacheMode::kWriteback);
  EXPECT_EQ(o->format, "");
  EXPECT_FALSE(o->queues);
  EXPECT_EQ(o->poll_max_ns, BlockOptions::kDefaultPollMaxNs);
}

TEST(BlockOptions, BarePathAndEscapedCommas) {
  auto o = parse_block_options("my,,disk.img,readonly=off,serial=a,,b");
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->path, "my,disk.img");
  EXPECT_FALSE(o->read_only);
  EXPECT_EQ(o->serial, "a,b");
}

TEST(BlockOptions, Errors) {
  auto message = [](const char* text) {
    auto o = parse_block_options(text);
    return o.ok() ? std::string("(accepted)") : o.error().message();
  };
  EXPECT_EQ(message(""), "disk option 'path' is empty");
  EXPECT_EQ(message("readonly=on"), "disk options need path=FILE");
  EXPECT_EQ(message("path=a,path=b"), "disk option 'path' given twice");
  EXPECT_EQ(message("path=a,bogus=1"),
            "unknown disk option 'bogus' (expected path, readonly, serial, cache, format, "
            "queues or poll-max-ns)");
  EXPECT_EQ(message("path=a,readonly=maybe"),
            "disk option 'readonly': expected on or off, got "
            "'maybe'");
  EXPECT_EQ(message("path=a,cache=unsafe"),
            "disk option 'cache': expected none or writeback, got 'unsafe'");
  EXPECT_EQ(message("path=a,format=vmdk"),
            "disk option 'format': expected raw or qcow2, got 'vmdk'");
  EXPECT_EQ(message("path=a,serial=123456789012345678901"),
            "disk option 'serial': '123456789012345678901' is longer than 20 bytes");
  EXPECT_EQ(message("path=a,serial=a\tb"),
            "disk option 'serial': 'a\\x09b' is not printable ASCII");
  EXPECT_EQ(message("path=a,queues=0"), "disk option 'queues': expected 1 to 64, got '0'");
  EXPECT_EQ(message("path=a,queues=65"), "disk option 'queues': expected 1 to 64, got '65'");
  EXPECT_EQ(message("path=a,queues=4x"), "disk option 'queues': expected 1 to 64, got '4x'");
  EXPECT_EQ(message("path=a,poll-max-ns=-1"),
            "disk option 'poll-max-ns': expected 0 to 10000000, got '-1'");
  EXPECT_EQ(message("path=a,poll-max-ns=10000001"),
            "disk option 'poll-max-ns': expected 0 to 10000000, got '10000001'");
  EXPECT_EQ(message("path=a,poll-max-ns=1us"),
            "disk option 'poll-max-ns': expected 0 to 10000000, got '1us'");
  EXPECT_EQ(message("path=a,readonly"), "disk option 'readonly' has no value (expected key=value)");
  EXPECT_EQ(message("path="), "disk option 'path' is empty");
  EXPECT_EQ(message("path=a,"), "disk option '' has no value (expected key=value)");
}

}  // namespace
}  // namespace vmkit
