// Hostile qcow2 images: every malformed structure is a clear error (at open, or for the one
// request that touches it), never a crash or an access outside the image file.
#include <gtest/gtest.h>

#include <random>

#include "disk/qcow2_format.h"
#include "disk_test_util.h"

namespace vmkit::test {
namespace {

using qcow2::load_be64;
using qcow2::store_be32;
using qcow2::store_be64;

class Hostile : public ::testing::Test {
 protected:
  // A 4 MiB v3 image with 64 KiB clusters and data in its first and last clusters.
  void SetUp() override {
    img_ = dir_.file("h.qcow2");
    must_run(vmkit_binary() + " disk create '" + img_ + "' 4M");
    {
      auto disk = open_image(img_);
      ASSERT_TRUE(disk);
      ASSERT_TRUE(write_bytes(*disk, 0, std::vector<uint8_t>(70000, 0xaa)).ok());
      ASSERT_TRUE(write_bytes(*disk, (4 << 20) - 4096, std::vector<uint8_t>(4096, 0xbb)).ok());
    }
    bytes_ = read_file(img_);
    l1_ = load_be64(&bytes_[40]);
    l2_ = load_be64(&bytes_[l1_]) & qcow2::kOffsetMask;
  }

  std::string open_error(const std::string& format = "qcow2", bool read_only = false) {
    write_file(img_, bytes_);
    DiskOpenOptions o;
    o.format = format;
    o.read_only = read_only;
    auto image = open_disk_image(img_, o);
    if (image.ok()) return "";
    return image.error().message();
  }

  TempDir dir_;
  std::string img_;
  std::vector<uint8_t> bytes_;
  uint64_t l1_ = 0, l2_ = 0;
};

TEST_F(Hostile, ValidImageOpens) {
  EXPECT_EQ(open_error(), "");
}

TEST_F(Hostile, BadMagicIsRaw) {
  bytes_[0] = 'X';
  EXPECT_EQ(open_error(""), "");  // detected as raw: no probing beyond the magic
  EXPECT_NE(open_error("qcow2").find("no qcow2 magic"), std::string::npos);
}

TEST_F(Hostile, HeaderFields) {
  auto original = bytes_;
  store_be32(&bytes_[4], 4);
  EXPECT_NE(open_error().find("unsupported qcow2 version 4"), std::string::npos);
  bytes_ = original;
  store_be32(&bytes_[20], 30);
  EXPECT_NE(open_error().find("cluster size"), std::string::npos);
  bytes_ = original;
  store_be32(&bytes_[96], 7);
  EXPECT_NE(open_error().find("refcount order"), std::string::npos);
  bytes_ = original;
  store_be64(&bytes_[24], 1ull << 62);
  EXPECT_NE(open_error().find("too large"), std::string::npos);
}

TEST_F(Hostile, L1SizeOverflow) {
  store_be32(&bytes_[36], 0xffffffffu);
  EXPECT_NE(open_error().find("exceeds 32 MiB"), std::string::npos);
}

TEST_F(Hostile, L1TooSmallForTheDisk) {
  store_be64(&bytes_[24], 1ull << 40);
  EXPECT_NE(open_error().find("too small"), std::string::npos);
}

TEST_F(Hostile, TablesOverlappingTheHeader) {
  auto original = bytes_;
  store_be64(&bytes_[40], 0);
  EXPECT_NE(open_error().find("overlaps the header"), std::string::npos);
  bytes_ = original;
  store_be64(&bytes_[48], 0);
  EXPECT_NE(open_error().find("overlaps the header"), std::string::npos);
  bytes_ = original;
  store_be64(&bytes_[l1_], 0 | qcow2::kOflagCopied);  // L2 table "at" the header
  bytes_[l1_ + 7] = 0;
  store_be64(&bytes_[l1_], (1ull << 63) | 512);  // misaligned
  EXPECT_NE(open_error().find("L2 table 0"), std::string::npos);
}

TEST_F(Hostile, OffsetsBeyondTheFile) {
  auto original = bytes_;
  store_be64(&bytes_[40], 1ull << 40);
  EXPECT_NE(open_error().find("beyond the end of the file"), std::string::npos);
  bytes_ = original;
  store_be64(&bytes_[l1_], (1ull << 63) | (1ull << 40));
  EXPECT_NE(open_error().find("L2 table 0"), std::string::npos);
  // A data cluster beyond the file: that request fails, the rest of the disk still reads.
  bytes_ = original;
  store_be64(&bytes_[l2_], (1ull << 63) | (1ull << 44));
  EXPECT_EQ(open_error("qcow2", true), "");
  auto disk = open_image(img_, "qcow2", true);
  ASSERT_TRUE(disk);
  std::vector<uint8_t> buf(4096);
  EXPECT_FALSE(read_bytes(*disk, 0, buf).ok());
  EXPECT_TRUE(read_bytes(*disk, 1 << 20, buf).ok());
}

TEST_F(Hostile, RefcountLoops) {
  // Refcount table entries pointing at the refcount table itself, or at the header.
  uint64_t rt = load_be64(&bytes_[48]);
  auto original = bytes_;
  store_be64(&bytes_[rt], rt);
  EXPECT_NE(open_error().find("refcount block 0"), std::string::npos);
  bytes_ = original;
  store_be64(&bytes_[rt], l1_);
  EXPECT_NE(open_error().find("refcount block 0"), std::string::npos);
}

TEST_F(Hostile, MissingRefcountBlockNeverHandsOutMetadata) {
  // All refcounts "zero": allocation must still never reuse the header, L1 or refcount table.
  store_be64(&bytes_[load_be64(&bytes_[48])], 0);
  ASSERT_EQ(open_error(), "");
  {
    auto disk = open_image(img_);
    ASSERT_TRUE(disk);
    ASSERT_TRUE(write_bytes(*disk, 1 << 20, std::vector<uint8_t>(300000, 0xcc)).ok());
    ASSERT_TRUE(disk->flush().ok());
  }
  auto disk = open_image(img_, "qcow2", true);  // header and L1 survived
  ASSERT_TRUE(disk);
  std::vector<uint8_t> buf(300000);
  ASSERT_TRUE(read_bytes(*disk, 1 << 20, buf).ok());
  EXPECT_EQ(buf, std::vector<uint8_t>(300000, 0xcc));
  EXPECT_EQ(run(vmkit_binary() + " disk check '" + img_ + "'").exit_code, 2);
}

TEST_F(Hostile, DirtyImageIsRepairedOnOpen) {
  // As QEMU does for lazy refcounts: a dirty image gets its refcounts rebuilt before writing.
  uint64_t data = load_be64(&bytes_[l2_]) & qcow2::kOffsetMask;
  uint64_t block = load_be64(&bytes_[load_be64(&bytes_[48])]);
  bytes_[block + 2 * (data >> 16)] = 0;  // 16-bit refcount of the first data cluster: 0
  bytes_[block + 2 * (data >> 16) + 1] = 0;
  bytes_[72 + 7] |= 1;  // dirty bit
  ASSERT_EQ(open_error("qcow2", true), "");
  EXPECT_EQ(run(vmkit_binary() + " disk check '" + img_ + "'").exit_code, 2);  // as found
  ASSERT_EQ(open_error(), "");  // read-write open repairs
  auto fixed = read_file(img_);
  EXPECT_EQ(fixed[72 + 7] & 1, 0) << "dirty bit still set";
  CommandResult q = run("qemu-img check '" + img_ + "'");
  EXPECT_EQ(q.exit_code, 0) << q.output;
}

TEST_F(Hostile, ClusterSharedByTwoL2Entries) {
  // Entry 1 points at entry 0's cluster: check reports corruption, as qemu-img check does.
  store_be64(&bytes_[l2_ + 8], load_be64(&bytes_[l2_]));
  write_file(img_, bytes_);
  CommandResult ours = run(vmkit_binary() + " disk check '" + img_ + "'");
  EXPECT_EQ(ours.exit_code, 2) << ours.output;
  EXPECT_NE(ours.output.find("refcount=1 reference=2"), std::string::npos) << ours.output;
  EXPECT_EQ(run("qemu-img check '" + img_ + "'").exit_code, 2);
  // Reads still work (both guest clusters show the same data), and nothing crashes.
  auto disk = open_image(img_, "qcow2", true);
  ASSERT_TRUE(disk);
  std::vector<uint8_t> a(65536), b(65536);
  ASSERT_TRUE(read_bytes(*disk, 0, a).ok());
  ASSERT_TRUE(read_bytes(*disk, 65536, b).ok());
  EXPECT_EQ(a, b);
}

TEST_F(Hostile, GarbageCompressedCluster) {
  // A compressed descriptor over garbage: that read fails with an I/O error, no crash.
  uint64_t data = load_be64(&bytes_[l2_ + 8]) & qcow2::kOffsetMask;  // cluster 1 of 70000 bytes
  ASSERT_NE(data, 0u);
  store_be64(&bytes_[l2_ + 8], (1ull << 62) | (3ull << 54) | data);
  EXPECT_EQ(open_error("qcow2", true), "");
  auto disk = open_image(img_, "qcow2", true);
  ASSERT_TRUE(disk);
  std::vector<uint8_t> buf(65536);
  EXPECT_FALSE(read_bytes(*disk, 65536, buf).ok());
}

TEST_F(Hostile, UnsupportedFeatures) {
  auto original = bytes_;
  bytes_[72 + 7] |= 1u << 5;  // unknown incompatible bit 5
  EXPECT_NE(open_error().find("unsupported qcow2 feature"), std::string::npos);
  bytes_ = original;
  store_be32(&bytes_[32], 1);  // AES
  EXPECT_NE(open_error().find("encrypted"), std::string::npos);
  bytes_ = original;
  bytes_[72 + 7] |= 1u << 2;
  EXPECT_NE(open_error().find("external data file"), std::string::npos);
  bytes_ = original;
  bytes_[72 + 7] |= 1u << 4;
  EXPECT_NE(open_error().find("extended L2"), std::string::npos);
  bytes_ = original;
  bytes_[72 + 7] |= 1u << 1;  // corrupt: read-only only
  EXPECT_NE(open_error().find("marked corrupt"), std::string::npos);
  EXPECT_EQ(open_error("qcow2", true), "");
}

TEST_F(Hostile, InternalSnapshotsAreReadOnly) {
  must_run("qemu-img snapshot -c snap1 '" + img_ + "'");
  bytes_ = read_file(img_);
  EXPECT_NE(open_error().find("internal snapshot"), std::string::npos);
  EXPECT_EQ(open_error("qcow2", true), "");
  CommandResult ours = run(vmkit_binary() + " disk check '" + img_ + "'");
  EXPECT_EQ(ours.exit_code, 0) << ours.output;
}

TEST_F(Hostile, OddBackingNames) {
  auto with_backing = [&](const std::string& name) {
    std::string path = dir_.file("ov.qcow2");
    must_run("qemu-img create -f qcow2 -u -b '" + name + "' -F raw '" + path + "' 1M");
    DiskOpenOptions o;
    auto image = open_disk_image(path, o);
    return image.ok() ? std::string() : image.error().message();
  };
  EXPECT_NE(with_backing("nbd:localhost:10809").find("protocol"), std::string::npos);
  EXPECT_NE(with_backing("json:{\"driver\":\"raw\"}").find("protocol"), std::string::npos);
  EXPECT_NE(with_backing("does-not-exist.raw").find("No such file"), std::string::npos);
  EXPECT_NE(with_backing("ov.qcow2").find("loop"), std::string::npos);  // itself
  // A loop of two images.
  must_run("cd '" + dir_.path() +
           "' && qemu-img create -f qcow2 -u -b b.qcow2 -F qcow2 a.qcow2 1M"
           " && qemu-img create -f qcow2 -u -b a.qcow2 -F qcow2 b.qcow2 1M");
  auto loop = open_disk_image(dir_.file("a.qcow2"), DiskOpenOptions{});
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.error().message().find("backing file loop"), std::string::npos);
  // A name with a NUL byte, and one longer than 1023 bytes.
  must_run("qemu-img create -f qcow2 -u -b xxxx -F raw '" + dir_.file("nul.qcow2") + "' 1M");
  auto b = read_file(dir_.file("nul.qcow2"));
  b[load_be64(&b[8]) + 1] = 0;
  write_file(dir_.file("nul.qcow2"), b);
  auto nul = open_disk_image(dir_.file("nul.qcow2"), DiskOpenOptions{});
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(nul.error().message().find("NUL"), std::string::npos);
  store_be32(&b[16], 2000);
  write_file(dir_.file("nul.qcow2"), b);
  auto longname = open_disk_image(dir_.file("nul.qcow2"), DiskOpenOptions{});
  ASSERT_FALSE(longname.ok());
  EXPECT_NE(longname.error().message().find("too long"), std::string::npos);
}

TEST_F(Hostile, RandomCorruptionNeverCrashes) {
  // Flip random bytes in the metadata clusters and exercise the image: only errors, no crash.
  std::mt19937_64 rng(1);
  auto original = bytes_;
  uint64_t meta_end = std::min<uint64_t>(bytes_.size(), 6 * 65536);
  for (int round = 0; round < 200; ++round) {
    bytes_ = original;
    for (int i = 0; i < 8; ++i) bytes_[rng() % meta_end] = static_cast<uint8_t>(rng());
    write_file(img_, bytes_);
    auto image = open_disk_image(img_, DiskOpenOptions{"qcow2", round % 2 == 0});
    if (!image.ok()) continue;
    std::vector<uint8_t> buf(200000);
    (void)read_bytes(**image, 0, buf);
    (void)read_bytes(**image, (4 << 20) - 200000, buf);
    if (!(*image)->read_only()) {
      (void)write_bytes(**image, 12345, std::vector<uint8_t>(100000, 1));
      (void)(*image)->discard(0, 1 << 20);
      (void)(*image)->write_zeroes(2 << 20, 1 << 20, false);
      (void)(*image)->flush();
    }
  }
  SUCCEED();
}

}  // namespace
}  // namespace vmkit::test
