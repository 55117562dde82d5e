// virtio-blk on a real raw image file through the disk library (io_uring): what the guest
// writes and flushes is in the host file, discard punches holes, a read-only image refuses
// writes. Built only when vmkit_disk is in the tree.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "base/unique_fd.h"
#include "device_harness.h"
#include "devices/virtio/blk/block_device.h"
#include "disk/disk_open.h"

namespace vmkit {
namespace {

constexpr uint64_t kSize = 4 << 20;

std::vector<uint8_t> header(uint32_t type, uint64_t sector) {
  blk::RequestHeader h{type, 0, sector};
  std::vector<uint8_t> out(sizeof(h));
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

struct RawFile {
  RawFile() {
    path = "/dev/shm/vmkit-blk-test-" + std::to_string(::getpid()) + ".raw";
    UniqueFd fd(::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600));
    EXPECT_TRUE(fd.valid());
    std::vector<uint8_t> ones(kSize, 0x11);
    EXPECT_EQ(::pwrite(fd.get(), ones.data(), ones.size(), 0), static_cast<ssize_t>(kSize));
  }
  ~RawFile() { ::unlink(path.c_str()); }
  std::shared_ptr<DiskImage> open(bool read_only) {
    DiskOpenOptions options;
    options.format = "raw";
    options.read_only = read_only;
    return std::shared_ptr<DiskImage>(open_disk_image(path, options).value());
  }
  std::vector<uint8_t> pread(uint64_t offset, size_t len) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    std::vector<uint8_t> out(len);
    EXPECT_EQ(::pread(fd.get(), out.data(), len, static_cast<off_t>(offset)),
              static_cast<ssize_t>(len));
    return out;
  }
  uint64_t allocated() {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }
  std::string path;
};

TEST(BlockDeviceRaw, WriteFlushReadDiscard) {
  RawFile file;
  auto dev = BlockDevice::create({file.open(false), false, "raw", 1, 64}).value();
  testing::DeviceHarness h(*dev);
  ASSERT_TRUE(h.activate(testing::DeviceHarness::kRingFeatures | dev->device_features()).ok());
  auto& d = h.driver(0);

  std::vector<uint8_t> data(8192);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31);
  GuestAddress s1, s2;
  d.chain().readable(header(blk::kTypeOut, 16)).readable(data).writable(1, &s1).publish();
  h.kick(0);
  ASSERT_TRUE(h.wait_used(0, 1));
  d.chain().readable(header(blk::kTypeFlush, 0)).writable(1, &s2).publish();
  h.kick(0);
  ASSERT_TRUE(h.wait_used(0, 2));
  EXPECT_EQ(h.mem.read_obj<uint8_t>(s1).value(), blk::kStatusOk);
  EXPECT_EQ(h.mem.read_obj<uint8_t>(s2).value(), blk::kStatusOk);
  EXPECT_EQ(file.pread(16 * 512, data.size()), data);

  GuestAddress buf, s3;
  d.chain().readable(header(blk::kTypeIn, 16)).writable(8192, &buf).writable(1, &s3).publish();
  h.kick(0);
  ASSERT_TRUE(h.wait_used(0, 3));
  EXPECT_EQ(d.read(buf, 8192), data);

  uint64_t before = file.allocated();
  blk::DiscardSegment seg{0, 2048, 0};  // the first MiB
  auto payload = header(blk::kTypeDiscard, 0);
  payload.resize(32);
  std::memcpy(payload.data() + 16, &seg, 16);
  GuestAddress s4;
  d.chain().readable(payload).writable(1, &s4).publish();
  h.kick(0);
  ASSERT_TRUE(h.wait_used(0, 4));
  EXPECT_EQ(h.mem.read_obj<uint8_t>(s4).value(), blk::kStatusOk);
  EXPECT_LT(file.allocated(), before);  // a hole was punched
}

TEST(BlockDeviceRaw, ReadOnlyImageRefusesWrites) {
  RawFile file;
  auto dev = BlockDevice::create({file.open(true), false, "", 1, 64}).value();
  EXPECT_TRUE(dev->device_features() & blk::kFeatureRo);
  testing::DeviceHarness h(*dev);
  ASSERT_TRUE(h.activate().ok());
  GuestAddress s;
  h.driver(0)
      .chain()
      .readable(header(blk::kTypeOut, 0))
      .readable(std::vector<uint8_t>(512))
      .writable(1, &s)
      .publish();
  h.kick(0);
  ASSERT_TRUE(h.wait_used(0, 1));
  EXPECT_EQ(h.mem.read_obj<uint8_t>(s).value(), blk::kStatusIoErr);
  EXPECT_EQ(file.pread(0, 512), std::vector<uint8_t>(512, 0x11));
}

}  // namespace
}  // namespace vmkit
