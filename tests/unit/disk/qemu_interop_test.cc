// Interoperability with qemu-img (Debian's qemu-utils), the reference implementation:
// images qemu-img writes read back under vmkit exactly as `qemu-img convert -O raw` gives them;
// images vmkit writes pass `qemu-img check` and `qemu-img compare`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "disk/disk_open.h"
#include "disk_test_util.h"

namespace vmkit::test {
namespace {

class QemuInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    CommandResult r = run("qemu-img --version && qemu-io --version");
    ASSERT_EQ(r.exit_code, 0) << "qemu-img/qemu-io (package qemu-utils) are required: " << r.output;
  }

  // A raw file with random data, zero stretches and a repeated pattern (so compression works).
  std::string make_source(const std::string& name, size_t size) {
    std::mt19937_64 rng(size);
    std::vector<uint8_t> data = random_bytes(rng, size);
    for (size_t off = 0; off + 300000 < size; off += 1000000) {
      std::fill_n(data.begin() + static_cast<long>(off + 100000), 150000, 0);
      std::fill_n(data.begin() + static_cast<long>(off + 260000), 40000, 0x5a);
    }
    std::string path = dir_.file(name);
    write_file(path, data);
    return path;
  }

  // vmkit's view of `image` must equal qemu-img's raw conversion of it.
  void expect_same_as_qemu(const std::string& image) {
    std::string raw = image + ".qemu.raw";
    must_run("qemu-img convert -O raw '" + image + "' '" + raw + "'");
    std::vector<uint8_t> expected = read_file(raw);
    auto disk = open_image(image, "", true);
    ASSERT_TRUE(disk);
    ASSERT_EQ(disk->virtual_size(), expected.size());
    std::vector<uint8_t> got = read_all(*disk);
    ASSERT_TRUE(got == expected) << image << " differs from qemu-img's view";
  }

  TempDir dir_;
};

struct QemuImageCase {
  const char* name;
  const char* options;  // for qemu-img convert -O qcow2
  bool compress;
};

class QemuCreated : public QemuInterop, public ::testing::WithParamInterface<QemuImageCase> {};

TEST_P(QemuCreated, ReadsBackLikeQemu) {
  const QemuImageCase& c = GetParam();
  std::string src = make_source("src.raw", 6 << 20);
  std::string img = dir_.file("img.qcow2");
  must_run(std::string("qemu-img convert -f raw -O qcow2 ") + (c.compress ? "-c " : "") + "-o " +
           c.options + " '" + src + "' '" + img + "'");
  // Punch zero clusters and fresh data into it with qemu-io as well.
  must_run(
      "qemu-io -f qcow2 -c 'write -z 1M 512k' -c 'write -P 0x33 3M 100k' -c "
      "'write -z -u 4M 1M' -c 'discard 5M 256k' '" +
      img + "'");
  expect_same_as_qemu(img);
  EXPECT_EQ(read_file(src).size(), 6u << 20);
}

INSTANTIATE_TEST_SUITE_P(
    Images, QemuCreated,
    ::testing::Values(QemuImageCase{"v2_64k", "compat=0.10,cluster_size=64k", false},
                      QemuImageCase{"v3_4k", "compat=1.1,cluster_size=4k", false},
                      QemuImageCase{"v3_64k", "compat=1.1,cluster_size=64k", false},
                      QemuImageCase{"v3_2m", "compat=1.1,cluster_size=2M", false},
                      QemuImageCase{"v3_512", "compat=1.1,cluster_size=512", false},
                      QemuImageCase{"zlib_64k", "compat=1.1,cluster_size=64k", true},
                      QemuImageCase{"zlib_4k", "compat=1.1,cluster_size=4k", true},
                      QemuImageCase{"zlib_v2", "compat=0.10", true},
                      QemuImageCase{"zstd_64k", "compression_type=zstd", true},
                      QemuImageCase{"zstd_2m", "compression_type=zstd,cluster_size=2M", true},
                      QemuImageCase{"refcount1", "refcount_bits=1,cluster_size=4k", false},
                      QemuImageCase{"refcount2", "refcount_bits=2", false},
                      QemuImageCase{"refcount4", "refcount_bits=4", false},
                      QemuImageCase{"refcount8", "refcount_bits=8", false},
                      QemuImageCase{"refcount32", "refcount_bits=32", false},
                      QemuImageCase{"refcount64", "refcount_bits=64,cluster_size=4k", false},
                      QemuImageCase{"lazy", "lazy_refcounts=on", false},
                      QemuImageCase{"prealloc", "preallocation=metadata", false}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(QemuInterop, BackingChainsReadBackLikeQemu) {
  std::string base = make_source("base.raw", 4 << 20);
  // raw <- qcow2 v2 <- qcow2 v3 (4k clusters) <- qcow2 v3, each with its own writes; the
  // middle ones name their backing files relatively, from another directory.
  must_run("mkdir -p '" + dir_.file("sub") + "'");
  must_run("cd '" + dir_.path() +
           "' && qemu-img create -f qcow2 -o compat=0.10 -b base.raw "
           "-F raw l1.qcow2 && qemu-io -c 'write -P 0x11 512k 64k' l1.qcow2");
  must_run("cd '" + dir_.path() +
           "' && qemu-img create -f qcow2 -o cluster_size=4k -b ../l1.qcow2 "
           "-F qcow2 sub/l2.qcow2 && qemu-io -c 'write -P 0x22 1000k 8k' -c 'write -z 2M 64k' "
           "sub/l2.qcow2");
  must_run("cd '" + dir_.path() +
           "' && qemu-img create -f qcow2 -b sub/l2.qcow2 -F qcow2 "
           "top.qcow2 6M && qemu-io -c 'write -P 0x44 3M 4k' -c 'write -P 0x55 4M 1M' top.qcow2");
  expect_same_as_qemu(dir_.file("top.qcow2"));
  expect_same_as_qemu(dir_.file("sub/l2.qcow2"));
}

// Random writes, discards and write-zeroes through vmkit, mirrored in memory; the result must
// pass qemu-img check and compare equal to the mirror.
struct WriteCase {
  const char* name;
  const char* create;  // vmkit disk create options
  bool backing;
};

class VmkitWritten : public QemuInterop, public ::testing::WithParamInterface<WriteCase> {};

TEST_P(VmkitWritten, PassesQemuCheckAndCompare) {
  const WriteCase& c = GetParam();
  const uint64_t size = 8 << 20;
  std::vector<uint8_t> mirror(size, 0);
  std::string img = dir_.file("img.qcow2");
  std::string base_sum;
  if (c.backing) {
    std::string base = make_source("base.raw", size);
    mirror = read_file(base);
    must_run("qemu-img convert -f raw -O qcow2 '" + base + "' '" + dir_.file("base.qcow2") + "'");
    base_sum = run("sha256sum '" + dir_.file("base.qcow2") + "'").output.substr(0, 64);
    must_run(vmkit_binary() + " disk create " + c.create + " -b base.qcow2 '" + img + "'");
  } else {
    must_run(vmkit_binary() + " disk create " + c.create + " '" + img + "' 8M");
  }
  {
    auto disk = open_image(img);
    ASSERT_TRUE(disk);
    std::mt19937_64 rng(42);
    for (int i = 0; i < 400; ++i) {
      uint64_t off = (rng() % (size / 512)) * 512;
      uint64_t len = std::min<uint64_t>(size - off, 512 * (1 + rng() % 600));
      int op = static_cast<int>(rng() % 10);
      if (op < 6) {
        auto data = random_bytes(rng, len);
        ASSERT_TRUE(write_bytes(*disk, off, data).ok());
        std::copy(data.begin(), data.end(), mirror.begin() + static_cast<long>(off));
      } else if (op < 8) {
        ASSERT_TRUE(disk->write_zeroes(off, len, op == 7).ok());
        std::fill_n(mirror.begin() + static_cast<long>(off), len, 0);
      } else if (op == 8) {
        // Discarded content is undefined: overwrite it right after so the mirror stays exact.
        ASSERT_TRUE(disk->discard(off, len).ok());
        auto data = random_bytes(rng, len);
        ASSERT_TRUE(write_bytes(*disk, off, data).ok());
        std::copy(data.begin(), data.end(), mirror.begin() + static_cast<long>(off));
      } else {
        ASSERT_TRUE(disk->flush().ok());
      }
    }
    ASSERT_TRUE(read_all(*disk) == mirror);
  }
  CommandResult check = run("qemu-img check '" + img + "'");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  write_file(dir_.file("mirror.raw"), mirror);
  CommandResult cmp =
      run("qemu-img compare -f raw '" + dir_.file("mirror.raw") + "' '" + img + "'");
  EXPECT_EQ(cmp.exit_code, 0) << cmp.output;
  CommandResult ours = run(vmkit_binary() + " disk check '" + img + "'");
  EXPECT_EQ(ours.exit_code, 0) << ours.output;
  if (c.backing) {
    EXPECT_EQ(run("sha256sum '" + dir_.file("base.qcow2") + "'").output.substr(0, 64), base_sum)
        << "the overlay changed its base";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Images, VmkitWritten,
    ::testing::Values(WriteCase{"v3_64k", "", false}, WriteCase{"v2_64k", "--compat 0.10", false},
                      WriteCase{"v3_4k", "--cluster-size 4K", false},
                      WriteCase{"v3_2m", "--cluster-size 2M", false},
                      WriteCase{"v3_512_rc64", "--cluster-size 512 --refcount-bits 64", false},
                      WriteCase{"rc1", "--cluster-size 4K --refcount-bits 1", false},
                      WriteCase{"prealloc", "--preallocate metadata", false},
                      WriteCase{"v3_backing", "", true},
                      WriteCase{"v2_backing", "--compat 0.10", true},
                      WriteCase{"v3_4k_backing", "--cluster-size 4K", true}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(QemuInterop, WritesIntoCompressedImages) {
  std::string src = make_source("src.raw", 4 << 20);
  std::string img = dir_.file("c.qcow2");
  must_run("qemu-img convert -c -f raw -O qcow2 -o compression_type=zstd '" + src + "' '" + img +
           "'");
  std::vector<uint8_t> mirror = read_file(src);
  {
    auto disk = open_image(img);
    ASSERT_TRUE(disk);
    std::mt19937_64 rng(7);
    for (int i = 0; i < 50; ++i) {
      uint64_t off = (rng() % (mirror.size() / 512 - 64)) * 512;
      auto data = random_bytes(rng, 512 * (1 + rng() % 64));
      ASSERT_TRUE(write_bytes(*disk, off, data).ok());
      std::copy(data.begin(), data.end(), mirror.begin() + static_cast<long>(off));
    }
  }
  CommandResult check = run("qemu-img check '" + img + "'");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  write_file(dir_.file("mirror.raw"), mirror);
  EXPECT_EQ(
      run("qemu-img compare -f raw '" + dir_.file("mirror.raw") + "' '" + img + "'").exit_code, 0);
}

TEST_F(QemuInterop, InfoJsonAgreesWithQemu) {
  make_source("base.raw", 2 << 20);
  must_run("cd '" + dir_.path() +
           "' && qemu-img create -f qcow2 -o compat=0.10 v2.qcow2 1G && "
           "qemu-img create -f qcow2 -o cluster_size=4k,refcount_bits=8,lazy_refcounts=on "
           "v3.qcow2 3G && qemu-img create -f qcow2 -o compression_type=zstd zstd.qcow2 100M && "
           "qemu-img create -f qcow2 -b base.raw -F raw ov.qcow2 && "
           "qemu-img create -f qcow2 -b ov.qcow2 -F qcow2 ov2.qcow2 && "
           "qemu-io -c 'write 0 1M' ov2.qcow2");
  must_run(vmkit_binary() + " disk create -b ov2.qcow2 '" + dir_.file("mine.qcow2") + "'");
  for (const char* name :
       {"v2.qcow2", "v3.qcow2", "zstd.qcow2", "ov.qcow2", "ov2.qcow2", "mine.qcow2", "base.raw"}) {
    std::string cmd_tail = std::string(" '") + name + "'";
    CommandResult q = run("cd '" + dir_.path() + "' && qemu-img info --output=json" + cmd_tail);
    CommandResult v =
        run("cd '" + dir_.path() + "' && " + vmkit_binary() + " disk info --json" + cmd_tail);
    ASSERT_EQ(q.exit_code, 0) << q.output;
    ASSERT_EQ(v.exit_code, 0) << v.output;
    auto qj = nlohmann::json::parse(q.output);
    auto vj = nlohmann::json::parse(v.output);
    for (const char* key :
         {"virtual-size", "filename", "cluster-size", "format", "actual-size", "backing-filename",
          "full-backing-filename", "backing-filename-format", "format-specific", "dirty-flag"}) {
      EXPECT_EQ(qj.contains(key), vj.contains(key)) << name << ": " << key;
      if (qj.contains(key) && vj.contains(key)) {
        EXPECT_EQ(qj[key], vj[key]) << name << ": " << key;
      }
    }
  }
}

TEST_F(QemuInterop, OverlayLeavesBaseByteIdentical) {
  for (const char* fmt : {"raw", "qcow2"}) {
    std::string base = dir_.file(std::string("base.") + fmt);
    std::string src = make_source("src.raw", 4 << 20);
    must_run(std::string("qemu-img convert -f raw -O ") + fmt + " '" + src + "' '" + base + "'");
    std::string before = run("sha256sum '" + base + "'").output.substr(0, 64);
    std::string ov = dir_.file(std::string("ov-") + fmt + ".qcow2");
    must_run(vmkit_binary() + " disk create --backing '" + base + "' '" + ov + "'");
    {
      auto disk = open_image(ov);
      ASSERT_TRUE(disk);
      std::mt19937_64 rng(3);
      for (int i = 0; i < 200; ++i) {
        uint64_t off = (rng() % ((4 << 20) / 512 - 256)) * 512;
        ASSERT_TRUE(write_bytes(*disk, off, random_bytes(rng, 512 * (1 + rng() % 256))).ok());
        if (i % 50 == 0) {
          ASSERT_TRUE(disk->discard(off, std::min<uint64_t>(1 << 20, (4 << 20) - off)).ok());
        }
        if (i % 70 == 0) {
          ASSERT_TRUE(
              disk->write_zeroes(off, std::min<uint64_t>(256 << 10, (4 << 20) - off), true).ok());
        }
      }
      ASSERT_TRUE(disk->flush().ok());
    }
    EXPECT_EQ(run("sha256sum '" + base + "'").output.substr(0, 64), before) << fmt;
    EXPECT_EQ(run("qemu-img check '" + ov + "'").exit_code, 0);
  }
}

}  // namespace
}  // namespace vmkit::test
