// qcow2 images under a real guest, checked with qemu-img as the reference (issue 5, "Tests"):
//   - a qcow2 overlay that qemu-img made on a base image (raw or qcow2, named by a relative path)
//     boots as the guest's root disk; the guest reads the base through it and writes; afterwards
//     `qemu-img check` finds the overlay clean, the base is byte-for-byte unchanged and
//     `qemu-img convert` of the overlay holds what the guest wrote;
//   - an image `vmkit disk create` made takes random and sequential writes and a discard from the
//     guest, passes `qemu-img check`, and qemu-img reads the same bytes the guest read;
//   - `kill -9` of vmkit while the guest keeps writing leaves an image `qemu-img check` finds
//     without corruption (leaks allowed), with everything the guest flushed before.
#include <fmt/format.h>
#include <gmock/gmock.h>

#include <csignal>

#include "device_fixture.h"

namespace vmkit::guest_test {
namespace {

// e2fsprogs and qemu-img, wherever PATH lacks the sbin directories.
constexpr const char* kPath = "PATH=$PATH:/usr/sbin:/sbin ";

// `qemu-img check`: 0 clean, 3 leaked clusters only, 2 corruption, 1 the check did not finish.
constexpr int kQemuImgCheckLeaksOnly = 3;

// Guest: 4 KiB O_DIRECT writes of random data at `count` pseudo-random 4 KiB blocks within MiB
// [first_mib, first_mib + span_mib), each a separate request (and cluster allocation, mostly).
std::string guest_random_writes(int count, std::uint64_t first_mib, std::uint64_t span_mib) {
  return fmt::format(
      "head -c {0} /dev/urandom > /tmp/blocks && i=0 && while [ $i -lt {1} ]; do "
      "dd if=/tmp/blocks of=/dev/vda bs=4096 skip=$i seek=$(({2} + (i * 7919) % {3})) count=1 "
      "oflag=direct conv=notrunc status=none || exit 1; i=$((i + 1)); done; rm /tmp/blocks",
      count * 4096, count, first_mib * 256, span_mib * 256);
}

// Converts `image` to raw with qemu-img; returns the raw file's path.
Result<std::string> qemu_img_to_raw(const std::string& image, const std::string& raw) {
  TRY(host_shell_ok(
      fmt::format("qemu-img convert -f qcow2 -O raw {} {}", sh_quote(image), sh_quote(raw))));
  return raw;
}

enum class BaseFormat { kRaw, kQcow2 };

class OverlayTest : public DeviceGuestTest, public ::testing::WithParamInterface<BaseFormat> {};

TEST_P(OverlayTest, QemuImgOverlayBootsAsRootAndLeavesTheBaseUnchanged) {
  Status rootfs = require_file(paths_.rootfs, "busybox guest root (VMKIT_ROOTFS)");
  ASSERT_TRUE(rootfs.ok()) << rootfs.error().message();
  const bool qcow2_base = GetParam() == BaseFormat::kQcow2;
  const std::string base_name = qcow2_base ? "base.qcow2" : "base.raw";
  const std::string base = file(base_name), overlay = file("overlay.qcow2");
  // The base: a copy of the busybox root (never the cached template itself).
  if (qcow2_base) {
    ASSERT_TRUE(host_shell_ok(fmt::format("qemu-img convert -f raw -O qcow2 {} {}",
                                          sh_quote(paths_.rootfs), sh_quote(base)))
                    .ok());
  } else {
    ASSERT_TRUE(host_shell_ok(fmt::format("cp --sparse=always {} {}", sh_quote(paths_.rootfs),
                                          sh_quote(base)))
                    .ok());
  }
  // The overlay names its base relatively, and is larger than the base (96 MiB over 64 MiB).
  auto created = host_shell_ok(
      fmt::format("cd {} && qemu-img create -q -f qcow2 -F {} -b {} "
                  "overlay.qcow2 96M",
                  sh_quote(scratch_->path()), qcow2_base ? "qcow2" : "raw", base_name));
  ASSERT_TRUE(created.ok()) << created.error().message();
  auto base_before = host_sha256(base, 0, 0);
  auto busybox =
      host_shell_ok(fmt::format("{}debugfs -R 'cat /bin/busybox' {} 2>/dev/null | sha256sum", kPath,
                                sh_quote(paths_.rootfs)));
  ASSERT_TRUE(base_before.ok() && busybox.ok());
  GuestSpec spec = base_spec();
  spec.disks = {disk(overlay, "qcow2")};
  spec.extra_cmdline = "root=/dev/vda rw";

  std::string root_mount, size, guest_busybox, file_sha, beyond_base;
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* g = TRY(boot(attempt, spec));
    root_mount = TRY(g->run_ok("grep ' / ' /proc/mounts | cut -d' ' -f1-3", kCommandTimeout));
    size = TRY(g->run_ok("blockdev --getsize64 /dev/vda", kCommandTimeout));
    // Read through the overlay from the base.
    guest_busybox = TRY(guest_sha256(*g, "sha256sum /bin/busybox"));
    // A file on the root file system, and raw data past the base's end.
    file_sha = TRY(guest_sha256(
        *g, "head -c 3145728 /dev/urandom > /data.bin && sync && sha256sum < /data.bin"));
    beyond_base = TRY(guest_sha256(*g, guest_write_random("/dev/vda", 72, 4, "oflag=direct")));
    exit = TRY(power_off(*g));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_EQ(root_mount, "/dev/vda / ext4\n");
  EXPECT_EQ(size, "100663296\n");
  EXPECT_EQ(guest_busybox, shown(parse_sha256(*busybox, "busybox")))
      << "the guest read /bin/busybox from the base through the overlay differently";
  EXPECT_TRUE(exit.exited && exit.code == 0) << "vmkit " << exit.describe();

  HostShellResult check = host_shell("qemu-img check -f qcow2 " + sh_quote(overlay));
  EXPECT_EQ(check.status, 0) << check.output;
  EXPECT_THAT(check.output, ::testing::HasSubstr("No errors were found on the image."));
  EXPECT_EQ(shown(host_sha256(base, 0, 0)), *base_before) << "the base image changed";

  auto raw = qemu_img_to_raw(overlay, file("flat.raw"));
  ASSERT_TRUE(raw.ok()) << raw.error().message();
  EXPECT_EQ(shown(host_sha256(*raw, 72, 4)), beyond_base);
  // The guest powered off without unmounting its root: replay the journal on this copy first.
  HostShellResult fsck = host_shell(fmt::format("{}e2fsck -fy {}", kPath, sh_quote(*raw)));
  EXPECT_LE(fsck.status, 1) << "e2fsck of the overlay's content:\n" << fsck.output;
  auto data = host_shell_ok(fmt::format("{}debugfs -R 'cat /data.bin' {} 2>/dev/null | sha256sum",
                                        kPath, sh_quote(*raw)));
  ASSERT_TRUE(data.ok()) << data.error().message();
  EXPECT_EQ(shown(parse_sha256(*data, "/data.bin")), file_sha)
      << "/data.bin in qemu-img's view of the overlay differs from what the guest wrote";
}

INSTANTIATE_TEST_SUITE_P(Base, OverlayTest, ::testing::Values(BaseFormat::kRaw, BaseFormat::kQcow2),
                         [](const auto& param_info) {
                           return param_info.param == BaseFormat::kRaw ? "raw" : "qcow2";
                         });

class VmkitQcow2Test : public DeviceGuestTest {
 protected:
  // `vmkit disk create FILE 64M` (qcow2 by default).
  Result<std::string> create_qcow2(const std::string& name) {
    std::string path = file(name);
    TRY(host_shell_ok(fmt::format("{} disk create {} 64M --format qcow2", sh_quote(paths_.vmkit),
                                  sh_quote(path))));
    return path;
  }
};

TEST_F(VmkitQcow2Test, GuestWritesAndDiscardPassQemuImgCheckAndReadTheSameInQemuImg) {
  auto image = create_qcow2("vmkit.qcow2");
  ASSERT_TRUE(image.ok()) << image.error().message();
  GuestSpec spec = base_spec();
  spec.disks = {disk(*image, "qcow2")};
  std::string whole;
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* g = TRY(boot(attempt, spec));
    TRY(g->run_ok(guest_random_writes(192, 0, 32), Seconds(120)));
    TRY(g->run_ok(guest_write_random("/dev/vda", 40, 6, ""), kCommandTimeout));
    TRY(g->run_ok(guest_write_random("/dev/vda", 48, 4, "oflag=direct"), kCommandTimeout));
    TRY(
        g->run_ok("sync && blkdiscard -o 50331648 -l 4194304 /dev/vda && sync && "
                  "echo 3 > /proc/sys/vm/drop_caches",
                  kCommandTimeout));
    // What the guest reads back, all 64 MiB.
    whole = TRY(guest_sha256(*g, sha256_command("/dev/vda", 0, 0, true), Seconds(90)));
    exit = TRY(power_off(*g));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_TRUE(exit.exited && exit.code == 0) << "vmkit " << exit.describe();
  HostShellResult check = host_shell("qemu-img check -f qcow2 " + sh_quote(*image));
  EXPECT_EQ(check.status, 0) << check.output;
  EXPECT_THAT(check.output, ::testing::HasSubstr("No errors were found on the image."));
  auto raw = qemu_img_to_raw(*image, file("flat.raw"));
  ASSERT_TRUE(raw.ok()) << raw.error().message();
  EXPECT_EQ(shown(host_sha256(*raw, 0, 0)), whole)
      << "qemu-img reads the image differently from the guest under vmkit";
  auto zeros = host_shell_ok("head -c 4M /dev/zero | sha256sum");
  ASSERT_TRUE(zeros.ok());
  EXPECT_EQ(shown(host_sha256(*raw, 48, 4)), shown(parse_sha256(*zeros, "zeros")))
      << "the discarded 4 MiB do not read as zeros";
}

TEST_F(VmkitQcow2Test, SigkillDuringWritesLeavesACleanImageWithTheFlushedData) {
  auto image = create_qcow2("crash.qcow2");
  ASSERT_TRUE(image.ok()) << image.error().message();
  GuestSpec spec = base_spec();
  spec.disks = {disk(*image, "qcow2")};
  std::string flushed;
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* g = TRY(boot(attempt, spec));
    // The first 32 MiB: random writes, flushed; their content as the guest reads it.
    // (`sync /dev/vda`: fsync of the disk, a flush request; a plain `sync` sends none.)
    TRY(g->run_ok(guest_random_writes(128, 0, 32) + " && sync /dev/vda", Seconds(120)));
    flushed = TRY(guest_sha256(*g, sha256_command("/dev/vda", 0, 32, true)));
    // The last 32 MiB: writes that never stop, allocating clusters when vmkit is killed.
    TRY(
        g->run_ok("(i=0; while :; do dd if=/dev/urandom of=/dev/vda bs=4096 count=4 "
                  "seek=$((8192 + (i * 331) % 8188)) oflag=direct conv=notrunc status=none; "
                  "i=$((i + 1)); done) >/dev/null 2>&1 & sleep 3",
                  kCommandTimeout));
    TRY(g->send_signal(SIGKILL));
    exit = TRY(g->wait_exit(kExitTimeout));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_TRUE(!exit.exited && exit.signal == SIGKILL) << "vmkit " << exit.describe();
  HostShellResult check = host_shell("qemu-img check -f qcow2 " + sh_quote(*image));
  EXPECT_TRUE(check.status == 0 || check.status == kQemuImgCheckLeaksOnly)
      << "qemu-img check exited " << check.status << ":\n"
      << check.output;
  EXPECT_THAT(check.output, ::testing::Not(::testing::HasSubstr("ERROR")));
  auto raw = qemu_img_to_raw(*image, file("flat.raw"));
  ASSERT_TRUE(raw.ok()) << raw.error().message();
  EXPECT_EQ(shown(host_sha256(*raw, 0, 32)), flushed)
      << "data the guest flushed before the kill is not in the image";
}

}  // namespace
}  // namespace vmkit::guest_test
