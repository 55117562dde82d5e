// `vmkit disk` end to end: every bad input is one "vmkit: error: ..." line, a non-zero exit, and
// nothing left behind; the good paths produce images qemu-img accepts.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "disk_test_util.h"

namespace vmkit::test {
namespace {

class DiskCli : public ::testing::Test {
 protected:
  CommandResult vmkit(const std::string& args) {
    return run("cd '" + dir_.path() + "' && " + vmkit_binary() + " disk " + args);
  }
  // The command fails with exactly one error line and leaves the directory as it was.
  void expect_error(const std::string& args, const std::string& fragment) {
    auto before = list_dir(dir_.path());
    CommandResult r = vmkit(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_EQ(r.output.rfind("vmkit: error: ", 0), 0u) << args << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(fragment), std::string::npos) << args << "\n" << r.output;
    auto after = list_dir(dir_.path());
    std::sort(before.begin(), before.end());
    std::sort(after.begin(), after.end());
    EXPECT_EQ(before, after) << args << " left files behind";
  }
  TempDir dir_;
};

TEST_F(DiskCli, CreateAndInspect) {
  ASSERT_EQ(vmkit("create a.qcow2 10G").exit_code, 0);
  ASSERT_EQ(vmkit("create -f raw r.img 1536M --preallocate falloc").exit_code, 0);
  struct stat st {};
  ASSERT_EQ(stat(dir_.file("r.img").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1536ll << 20);
  EXPECT_GE(static_cast<long long>(st.st_blocks) * 512, 1536ll << 20);
  ASSERT_EQ(vmkit("create -b a.qcow2 ov.qcow2").exit_code, 0);
  CommandResult info = vmkit("info ov.qcow2");
  EXPECT_EQ(info.exit_code, 0);
  EXPECT_NE(info.output.find("virtual size: 10G"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("backing file: a.qcow2"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("dirty flag: no"), std::string::npos) << info.output;
  EXPECT_EQ(vmkit("check ov.qcow2").exit_code, 0);
  EXPECT_EQ(run("qemu-img check '" + dir_.file("ov.qcow2") + "'").exit_code, 0);
  for (const char* mode : {"metadata", "falloc", "full"}) {
    std::string name = std::string("p-") + mode + ".qcow2";
    ASSERT_EQ(vmkit("create --preallocate " + std::string(mode) + " " + name + " 64M").exit_code,
              0);
    EXPECT_EQ(run("qemu-img check '" + dir_.file(name) + "'").exit_code, 0) << mode;
  }
}

TEST_F(DiskCli, ConvertAndResize) {
  must_run("head -c 3000000 /dev/urandom > '" + dir_.file("src.bin") + "'");
  must_run("truncate -s 4M '" + dir_.file("src.bin") + "'");
  ASSERT_EQ(vmkit("convert -f raw src.bin c.qcow2 -O qcow2").exit_code, 0);
  EXPECT_EQ(
      run("qemu-img compare -f raw '" + dir_.file("src.bin") + "' '" + dir_.file("c.qcow2") + "'")
          .exit_code,
      0);
  ASSERT_EQ(vmkit("convert c.qcow2 back.raw -O raw").exit_code, 0);
  EXPECT_EQ(read_file(dir_.file("back.raw")), read_file(dir_.file("src.bin")));
  ASSERT_EQ(vmkit("resize c.qcow2 +1G").exit_code, 0);
  ASSERT_EQ(vmkit("resize back.raw 8M").exit_code, 0);
  EXPECT_EQ(read_file(dir_.file("back.raw")).size(), 8u << 20);
  ASSERT_EQ(vmkit("resize back.raw 4M --shrink").exit_code, 0);
  EXPECT_EQ(read_file(dir_.file("back.raw")), read_file(dir_.file("src.bin")));
  CommandResult q = run("qemu-img info '" + dir_.file("c.qcow2") + "'");
  EXPECT_NE(q.output.find("1 GiB"), std::string::npos) << q.output;
  EXPECT_EQ(run("qemu-img check '" + dir_.file("c.qcow2") + "'").exit_code, 0);
  // A file given as raw stays raw, even if it carries a qcow2 header.
  ASSERT_EQ(vmkit("convert -f raw c.qcow2 asraw.img -O raw").exit_code, 0);
  EXPECT_EQ(read_file(dir_.file("asraw.img")), read_file(dir_.file("c.qcow2")));
}

TEST_F(DiskCli, BadInputs) {
  ASSERT_EQ(vmkit("create exists.qcow2 1M").exit_code, 0);
  must_run("head -c 1M /dev/zero > '" + dir_.file("plain.raw") + "'");
  must_run("touch '" + dir_.file("unreadable.qcow2") + "' && chmod 000 '" +
           dir_.file("unreadable.qcow2") + "'");
  expect_error("create x.qcow2 12Q", "invalid size");
  expect_error("create x.qcow2 -5", "invalid size");
  expect_error("create x.qcow2 99999999999999999999", "invalid size");
  expect_error("create x.qcow2 1000", "multiple of 512");
  expect_error("create x.qcow2", "no size given");
  expect_error("create exists.qcow2 1M", "already exists");
  expect_error("create -f vmdk x.img 1M", "unknown image format");
  expect_error("create --cluster-size 3K x.qcow2 1M", "cluster size");
  expect_error("create --cluster-size 4M x.qcow2 1M", "cluster size");
  expect_error("create --refcount-bits 3 x.qcow2 1M", "refcount bits");
  expect_error("create --preallocate lots x.qcow2 1M", "preallocation");
  expect_error("create -f raw --preallocate metadata x.img 1M", "metadata");
  expect_error("create -f raw -b exists.qcow2 x.img", "backing");
  expect_error("create -b missing.qcow2 x.qcow2", "No such file");
  expect_error("create --force -b exists.qcow2 exists.qcow2", "loop");
  expect_error("create 4T.qcow2 1P", "invalid size");
  expect_error("info missing.qcow2", "No such file");
  expect_error("check missing.qcow2", "No such file");
  expect_error("info -f vhdx exists.qcow2", "unknown image format");
  expect_error("convert missing.qcow2 out.qcow2 -O qcow2", "No such file");
  expect_error("convert exists.qcow2 plain.raw -O raw", "already exists");
  expect_error("convert exists.qcow2 exists.qcow2 -O qcow2 --force", "same file");
  expect_error("convert exists.qcow2 out.img -O vmdk", "unknown output format");
  expect_error("resize exists.qcow2 12X", "invalid size");
  expect_error("resize exists.qcow2 512K", "shrinking qcow2");
  expect_error("resize plain.raw 512K", "--shrink");
  expect_error("resize missing.raw 1M", "No such file");
  // Unreadable inputs: a directory always; a mode-000 file when not running as root.
  must_run("mkdir '" + dir_.file("adir") + "'");
  expect_error("info adir", "Is a directory");
  expect_error("convert adir out.raw -O raw", "Is a directory");
  if (geteuid() != 0) expect_error("info unreadable.qcow2", "Permission denied");
  // Backing loops made by another tool.
  must_run("cd '" + dir_.path() +
           "' && qemu-img create -f qcow2 -u -b l2.qcow2 -F qcow2 l1.qcow2 "
           "1M && qemu-img create -f qcow2 -u -b l1.qcow2 -F qcow2 l2.qcow2 1M");
  expect_error("info l1.qcow2", "backing file loop");
  expect_error("convert l1.qcow2 out.raw -O raw", "backing file loop");
  expect_error("create -b l1.qcow2 x.qcow2", "backing file loop");
  // Usage errors are one line too.
  expect_error("create", "file is required");
  expect_error("frobnicate", "subcommand");
}

}  // namespace
}  // namespace vmkit::test
