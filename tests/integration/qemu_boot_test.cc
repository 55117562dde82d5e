// The harness and the guest images proven with QEMU-KVM as the monitor, in the nested test host:
// the stock Debian kernel boots with our initramfs, reports what it was given, and powers off.
// These tests pass today; the same checks against vmkit are in vmkit_boot_test.cc.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cstdlib>
#include <ctime>

#include "base/unique_fd.h"
#include "harness/guest_test.h"

namespace vmkit::guest_test {
namespace {

// Says `text` to QEMU's human monitor on a unix socket.
Status tell_qemu_monitor(const std::string& socket_path, const std::string& text) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::from_errno("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) return Error("monitor socket path too long");
  socket_path.copy(addr.sun_path, socket_path.size());
  // SAFETY: sockaddr_un is the sockaddr connect() expects for AF_UNIX.
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return Error::from_errno("connect " + socket_path);
  }
  if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return Error::from_errno("write to the QEMU monitor");
  }
  usleep(200 * 1000);  // let QEMU read it before the socket closes
  return ok_status();
}

struct BootCase {
  unsigned cpus;
  std::uint64_t memory_mib;
};
void PrintTo(const BootCase& c, std::ostream* os) {
  *os << c.cpus << " vCPU, " << c.memory_mib << " MiB";
}

class QemuBootTest : public GuestTest, public ::testing::WithParamInterface<BootCase> {};

TEST_P(QemuBootTest, StockKernelReportsCpusMemoryClockAndPowersOff) {
  GuestSpec spec;
  spec.cpus = GetParam().cpus;
  spec.memory_mib = GetParam().memory_mib;
  GuestFacts facts;
  ExitStatus exit;
  long long host_time = 0;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* guest = TRY(attempt.start(qemu_command(paths_, spec), "qemu"));
    TRY(guest->wait_for_text("VMKIT-GUEST-READY", kBootTimeout));
    TRY(guest->wait_for_shell(kCommandTimeout));
    facts = TRY(read_guest_facts(*guest));
    host_time = static_cast<long long>(std::time(nullptr));
    TRY(guest->type("poweroff\n"));
    TRY(guest->wait_for_text("VMKIT-POWEROFF", kExitTimeout));
    exit = TRY(guest->wait_exit(kExitTimeout));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_EQ(facts.nproc, spec.cpus);
  expect_memory_matches(facts.mem_total_kib, spec.memory_mib);
  EXPECT_EQ(facts.clocksource, "kvm-clock");
  EXPECT_NEAR(static_cast<double>(facts.epoch_seconds), static_cast<double>(host_time), 120.0);
  EXPECT_TRUE(exit.exited && exit.code == 0) << "qemu " << exit.describe();
}

INSTANTIATE_TEST_SUITE_P(Cpus, QemuBootTest, ::testing::Values(BootCase{1, 512}, BootCase{2, 768}),
                         [](const auto& param_info) {
                           return fmt::format("{}cpu_{}M", param_info.param.cpus,
                                              param_info.param.memory_mib);
                         });

// The non-interactive mode of the guest init: vmkit_run= on the kernel command line.
TEST_F(GuestTest, QemuRunsCommandFromKernelCommandLineThenPowersOff) {
  GuestSpec spec;
  spec.flavour = Flavour::kCloud;
  spec.extra_cmdline = "vmkit_run=\"echo run-mode-$((6 * 7)); exit 3\"";
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* guest = TRY(attempt.start(qemu_command(paths_, spec), "qemu"));
    TRY(guest->wait_for_text("run-mode-42\n", kBootTimeout));
    TRY(guest->wait_for_text("VMKIT-RUN-EXIT=3\n", kCommandTimeout));
    exit = TRY(guest->wait_exit(kExitTimeout));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_TRUE(exit.exited && exit.code == 0) << "qemu " << exit.describe();
}

// The guest side of vmkit's SIGTERM handling: the ACPI power button leads to a clean power-off.
TEST_F(GuestTest, QemuPowerButtonShutsGuestDownCleanly) {
  GuestSpec spec;
  spec.flavour = Flavour::kCloud;
  std::string socket_path = fmt::format("/tmp/vmkit-qemu-monitor-{}.sock", getpid());
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    unlink(socket_path.c_str());
    auto argv = qemu_command(paths_, spec);
    argv.insert(argv.end(), {"-monitor", fmt::format("unix:{},server=on,wait=off", socket_path)});
    GuestProcess* guest = TRY(attempt.start(argv, "qemu"));
    TRY(guest->wait_for_text("VMKIT-GUEST-READY", kBootTimeout));
    TRY(guest->wait_for_shell(kCommandTimeout));
    TRY(tell_qemu_monitor(socket_path, "system_powerdown\n"));
    TRY(guest->wait_for_text("VMKIT-POWER-BUTTON", kCommandTimeout));
    TRY(guest->wait_for_text("VMKIT-POWEROFF", kExitTimeout));
    exit = TRY(guest->wait_exit(kExitTimeout));
    return ok_status();
  });
  unlink(socket_path.c_str());
  if (!ok) return;
  EXPECT_TRUE(exit.exited && exit.code == 0) << "qemu " << exit.describe();
}

// The initramfs loads virtio-blk and ext4, mounts root=/dev/vda and switch_roots to it.
TEST_F(GuestTest, QemuBootsBusyboxRootFileSystemFromVirtioBlk) {
  Status image = require_file(paths_.rootfs, "busybox root file system (VMKIT_ROOTFS)");
  ASSERT_TRUE(image.ok()) << image.error().message();
  auto disk = copy_image(paths_.rootfs);
  ASSERT_TRUE(disk.ok()) << disk.error().message();
  GuestSpec spec;
  spec.disk = disk.value();
  spec.extra_cmdline = "root=/dev/vda";
  std::string root_mount;
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* guest = TRY(attempt.start(qemu_command(paths_, spec), "qemu"));
    TRY(guest->wait_for_text("VMKIT-GUEST-READY", kBootTimeout));
    TRY(guest->wait_for_shell(kCommandTimeout));
    root_mount = TRY(guest->run_ok("grep ' / ' /proc/mounts", kCommandTimeout));
    TRY(guest->run_ok("echo written > /root/file && sync", kCommandTimeout));
    TRY(guest->type("poweroff\n"));
    exit = TRY(guest->wait_exit(kExitTimeout));
    return ok_status();
  });
  unlink(disk.value().c_str());
  if (!ok) return;
  EXPECT_NE(root_mount.find("/dev/vda / ext4 rw"), std::string::npos) << root_mount;
  EXPECT_TRUE(exit.exited && exit.code == 0) << "qemu " << exit.describe();
}

}  // namespace
}  // namespace vmkit::guest_test
