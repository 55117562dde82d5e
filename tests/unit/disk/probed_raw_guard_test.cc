#include "disk/probed_raw_guard.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "disk/disk_open.h"

namespace vmkit {
namespace {

iovec iov_of(std::string& s) {
  return iovec{s.data(), s.size()};
}

TEST(ProbedRawGuard, RecognisesMagicWrites) {
  std::string header = "QFI\xfb\x00\x00\x00\x03";
  std::string other = "hello world";
  iovec h = iov_of(header), o = iov_of(other);
  EXPECT_TRUE(writes_image_magic(0, std::span(&h, 1)));
  EXPECT_FALSE(writes_image_magic(0, std::span(&o, 1)));
  EXPECT_FALSE(writes_image_magic(512, std::span(&h, 1)));
  // Byte by byte: "Q" at 0, then "FI\xfb" at 1 are each refused.
  std::string q = "Q", rest = "FI\xfb";
  iovec qi = iov_of(q), ri = iov_of(rest);
  EXPECT_TRUE(writes_image_magic(0, std::span(&qi, 1)));
  EXPECT_TRUE(writes_image_magic(1, std::span(&ri, 1)));
  // A gather list that spells the magic across elements.
  std::string a = "QF", b = "I\xfb rest";
  iovec split[2] = {iov_of(a), iov_of(b)};
  EXPECT_TRUE(writes_image_magic(0, split));
}

TEST(ProbedRawGuard, OnlyWhenFormatWasProbed) {
  std::string path = "/tmp/vmkit-probe-" + std::to_string(::getpid()) + ".img";
  {
    std::ofstream f(path, std::ios::binary);
    f << std::string(65536, '\0');
  }
  std::string header = std::string("QFI\xfb", 4) + std::string(508, '\0');
  iovec h = iov_of(header);
  auto probed = open_disk_image(path, DiskOpenOptions{});
  ASSERT_TRUE(probed.ok());
  auto refused = (*probed)->write(0, std::span(&h, 1));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().sys_errno(), EPERM);
  EXPECT_TRUE((*probed)->write(4096, std::span(&h, 1)).ok());  // elsewhere is fine

  // The queue path (what virtio-blk uses) refuses too.
  auto queue = (*probed)->open_queue(4);
  ASSERT_TRUE(queue.ok());
  IoRequest req;
  req.op = IoOp::kWrite;
  req.offset = 0;
  req.iov = std::span(&h, 1);
  EXPECT_FALSE((*queue)->submit(req).ok());

  DiskOpenOptions explicit_raw;
  explicit_raw.format = "raw";
  auto given = open_disk_image(path, explicit_raw);
  ASSERT_TRUE(given.ok());
  EXPECT_TRUE((*given)->write(0, std::span(&h, 1)).ok());
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace vmkit
