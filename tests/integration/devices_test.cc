// vmkit's paravirtual devices seen from a stock Debian guest in the nested test host (issue 3,
// "Tests"): virtio-blk (enumeration, sizes, serials, data both ways with O_DIRECT and buffered
// I/O, read-only disks, discard, one queue per vCPU, flushed data surviving `kill -9`),
// virtio-rng (/dev/hwrng, and its absence with --no-rng) and virtio-console (hvc0 carrying
// output and a shell). The host side checks the image files after the guest is gone.
#include <fmt/format.h>
#include <gmock/gmock.h>

#include <csignal>
#include <initializer_list>
#include <sstream>

#include "device_fixture.h"

namespace vmkit::guest_test {
namespace {

// PCI: virtio vendor 0x1af4, modern device ids 0x1040 + virtio device type (virtio 1.2, 4.1.2.1).
constexpr const char* kListVirtioPci =
    "cd /sys/bus/pci/devices && for d in *; do [ \"$(cat $d/vendor)\" = 0x1af4 ] && "
    "echo \"$(cat $d/device) $(basename \"$(readlink $d/driver)\")\"; done; true";
// The virtio bus: device type and the driver bound to it.
constexpr const char* kListVirtioBus =
    "cd /sys/bus/virtio/devices && for d in *; do "
    "echo \"$(cat $d/device) $(basename \"$(readlink $d/driver)\")\"; done";

// "vdX <sectors> <serial> <ro> <driver>" for each disk.
std::string describe_disks(std::initializer_list<const char*> names) {
  std::string list;
  for (const char* n : names) list += fmt::format(" {}", n);
  return fmt::format(
      "for b in{}; do echo \"$b $(cat /sys/block/$b/size) $(cat /sys/block/$b/serial) "
      "$(cat /sys/block/$b/ro) $(basename \"$(readlink /sys/block/$b/device/driver)\")\"; done",
      list);
}

class BlkTest : public DeviceGuestTest {};

TEST_F(BlkTest, TwoDisksEnumerateWithSizeAndSerialAndDataCrossesBothWays) {
  auto a = make_raw("a.raw", 64);
  auto b = make_raw("b.raw", 24);
  ASSERT_TRUE(a.ok() && b.ok());
  auto host_written = fill_random(*a, 8, 4);
  ASSERT_TRUE(host_written.ok()) << host_written.error().message();
  GuestSpec spec = base_spec();
  spec.disks = {disk(*a), disk(*b)};
  spec.disks[0].serial = "vmkit-data-0";
  spec.disks[1].serial = "vmkit-data-1";

  std::string pci, virtio, modules, disks, size64, read_host, direct_written, direct_read,
      buffered_written, buffered_read;
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* g = TRY(boot(attempt, spec));
    pci = TRY(g->run_ok(kListVirtioPci, kCommandTimeout));
    virtio = TRY(g->run_ok(kListVirtioBus, kCommandTimeout));
    modules = TRY(g->run_ok("lsmod | cut -d' ' -f1", kCommandTimeout));
    disks = TRY(g->run_ok(describe_disks({"vda", "vdb"}), kCommandTimeout));
    size64 = TRY(g->run_ok("blockdev --getsize64 /dev/vda", kCommandTimeout));
    // Host -> guest: what the host wrote before the boot.
    read_host = TRY(guest_sha256(*g, sha256_command("/dev/vda", 8, 4, true)));
    // Guest -> disk with O_DIRECT, read back with O_DIRECT.
    direct_written = TRY(guest_sha256(*g, guest_write_random("/dev/vda", 16, 4, "oflag=direct")));
    direct_read = TRY(guest_sha256(*g, sha256_command("/dev/vda", 16, 4, true)));
    // Guest -> disk through the page cache, synced, read back after dropping the cache.
    buffered_written = TRY(guest_sha256(*g, guest_write_random("/dev/vdb", 4, 4, "")));
    TRY(g->run_ok("sync && echo 3 > /proc/sys/vm/drop_caches", kCommandTimeout));
    buffered_read = TRY(guest_sha256(*g, sha256_command("/dev/vdb", 4, 4)));
    exit = TRY(power_off(*g));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_EQ(count_lines(pci, "0x1042 virtio-pci"), 2) << "virtio-blk PCI functions:\n" << pci;
  EXPECT_EQ(count_lines(virtio, "0x0002 virtio_blk"), 2) << "virtio bus:\n" << virtio;
  EXPECT_EQ(count_lines(modules, "virtio_blk"), 1) << modules;
  EXPECT_EQ(count_lines(modules, "virtio_pci"), 1) << modules;
  EXPECT_EQ(disks,
            "vda 131072 vmkit-data-0 0 virtio_blk\n"
            "vdb 49152 vmkit-data-1 0 virtio_blk\n");
  EXPECT_EQ(size64, "67108864\n");
  EXPECT_EQ(read_host, *host_written) << "the guest read other bytes than the host wrote";
  EXPECT_EQ(direct_read, direct_written) << "O_DIRECT read-back differs in the guest";
  EXPECT_EQ(buffered_read, buffered_written) << "buffered read-back differs in the guest";
  EXPECT_TRUE(exit.exited && exit.code == 0) << "vmkit " << exit.describe();
  // Guest -> host: the image files hold what the guest wrote; the host's own bytes are intact.
  EXPECT_EQ(shown(host_sha256(*a, 16, 4)), direct_written) << "O_DIRECT write, host side";
  EXPECT_EQ(shown(host_sha256(*b, 4, 4)), buffered_written) << "buffered write, host side";
  EXPECT_EQ(shown(host_sha256(*a, 8, 4)), *host_written);
}

TEST_F(BlkTest, ReadOnlyDiskRefusesWritesAndReads) {
  auto ro = make_raw("ro.raw", 16);
  ASSERT_TRUE(ro.ok());
  auto content = fill_random(*ro, 0, 16);
  ASSERT_TRUE(content.ok()) << content.error().message();
  GuestSpec spec = base_spec();
  spec.disks = {disk(*ro)};
  spec.disks[0].read_only = true;
  spec.disks[0].serial = "vmkit-ro";

  std::string disks, getro, read_back;
  GuestProcess::CommandOutput direct_write, buffered_write;
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* g = TRY(boot(attempt, spec));
    disks = TRY(g->run_ok(describe_disks({"vda"}), kCommandTimeout));
    getro = TRY(g->run_ok("blockdev --getro /dev/vda", kCommandTimeout));
    direct_write = TRY(g->run(
        "dd if=/dev/zero of=/dev/vda bs=4096 count=1 oflag=direct conv=notrunc", kCommandTimeout));
    buffered_write =
        TRY(g->run("dd if=/dev/zero of=/dev/vda bs=4096 count=1 seek=100 conv=notrunc,fsync",
                   kCommandTimeout));
    read_back = TRY(guest_sha256(*g, sha256_command("/dev/vda", 0, 16, true)));
    exit = TRY(power_off(*g));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_EQ(disks, "vda 32768 vmkit-ro 1 virtio_blk\n");
  EXPECT_EQ(getro, "1\n");
  for (const auto* w : {&direct_write, &buffered_write}) {
    EXPECT_NE(w->status, 0) << "a write to the read-only disk succeeded:\n" << w->output;
    // EPERM from the guest kernel (the disk is read-only), or EIO from the device.
    EXPECT_THAT(w->output, ::testing::ContainsRegex("Operation not permitted|Read-only file "
                                                    "system|Input/output error"));
  }
  EXPECT_EQ(read_back, *content) << "the read-only disk reads other bytes than the file holds";
  EXPECT_TRUE(exit.exited && exit.code == 0) << "vmkit " << exit.describe();
  EXPECT_EQ(shown(host_sha256(*ro, 0, 16)), *content) << "the read-only image changed";
}

TEST_F(BlkTest, DiscardPunchesHolesInTheHostFile) {
  // The build directory's share (9p) cannot punch holes: this image lives where it can.
  auto root = punch_capable_root();
  ASSERT_TRUE(root.ok()) << root.error().message();
  auto dir = ScratchDir::create(*root, "discard");
  ASSERT_TRUE(dir.ok()) << dir.error().message();
  std::string image = dir->file("discard.raw");
  ASSERT_TRUE(host_shell_ok("truncate -s 32M " + sh_quote(image)).ok());
  auto head = fill_random(image, 0, 8);
  auto middle = fill_random(image, 8, 16);
  auto tail = fill_random(image, 24, 8);
  ASSERT_TRUE(head.ok() && middle.ok() && tail.ok());
  auto before = allocated_bytes(image);
  ASSERT_TRUE(before.ok());
  ASSERT_GE(*before, 32u << 20) << "the image should be fully allocated before the test";
  auto zeros = host_shell_ok("head -c 16M /dev/zero | sha256sum");
  ASSERT_TRUE(zeros.ok());
  GuestSpec spec = base_spec();
  spec.disks = {disk(image)};

  std::string max_bytes;
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* g = TRY(boot(attempt, spec));
    max_bytes = TRY(g->run_ok("cat /sys/block/vda/queue/discard_max_bytes", kCommandTimeout));
    TRY(g->run_ok("blkdiscard -o 8388608 -l 16777216 /dev/vda && sync", kCommandTimeout));
    exit = TRY(power_off(*g));
    return ok_status();
  });
  if (!ok) return;
  auto max = parse_integer(max_bytes, "discard_max_bytes");
  EXPECT_TRUE(max.ok() && *max > 0) << "discard_max_bytes: " << max_bytes;
  EXPECT_TRUE(exit.exited && exit.code == 0) << "vmkit " << exit.describe();
  auto after = allocated_bytes(image);
  ASSERT_TRUE(after.ok());
  EXPECT_LE(*after + (16u << 20), *before)
      << "discarding 16 MiB freed only " << (*before - std::min(*before, *after)) << " bytes";
  EXPECT_EQ(shown(host_sha256(image, 8, 16)), shown(parse_sha256(*zeros, "zeros")))
      << "the discarded range does not read as zeros on the host";
  EXPECT_EQ(shown(host_sha256(image, 0, 8)), *head) << "data before the range changed";
  EXPECT_EQ(shown(host_sha256(image, 24, 8)), *tail) << "data after the range changed";
}

TEST_F(BlkTest, FlushedWritesAreInTheHostFileAfterSigkill) {
  auto image = make_raw("powercut.raw", 32);
  ASSERT_TRUE(image.ok());
  GuestSpec spec = base_spec();
  spec.disks = {disk(*image)};
  std::string buffered, direct;
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* g = TRY(boot(attempt, spec));
    // Through the page cache, then fsync of the device (`sync /dev/vda`: writes the pages back
    // and sends a flush request; a plain `sync` sends no flush to a disk without a file system)
    buffered =
        TRY(guest_sha256(*g, guest_write_random("/dev/vda", 4, 4, "") + " && sync /dev/vda"));
    // ... and O_DIRECT with fsync (a flush request of its own).
    direct =
        TRY(guest_sha256(*g, guest_write_random("/dev/vda", 12, 2, "oflag=direct conv=fsync")));
    // The power cut: vmkit dies without any chance to write anything more.
    TRY(g->send_signal(SIGKILL));
    exit = TRY(g->wait_exit(kExitTimeout));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_TRUE(!exit.exited && exit.signal == SIGKILL) << "vmkit " << exit.describe();
  EXPECT_EQ(shown(host_sha256(*image, 4, 4)), buffered) << "synced write lost";
  EXPECT_EQ(shown(host_sha256(*image, 12, 2)), direct) << "fsynced O_DIRECT write lost";
}

TEST_F(BlkTest, SmpGuestGetsOneQueuePerVcpuAndEachCarriesIo) {
  auto a = make_raw("mq.raw", 16);
  auto b = make_raw("sq.raw", 16);
  ASSERT_TRUE(a.ok() && b.ok());
  auto content = fill_random(*a, 0, 4);
  ASSERT_TRUE(content.ok());
  GuestSpec spec = base_spec();
  spec.cpus = 2;
  spec.memory_mib = 512;
  spec.disks = {disk(*a), disk(*b)};
  spec.disks[1].queues = 1;
  std::string queues, cpu_lists, read_cpu0, read_cpu1, written_cpu1;
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* g = TRY(boot(attempt, spec));
    queues = TRY(
        g->run_ok("ls /sys/block/vda/mq | wc -l; ls /sys/block/vdb/mq | wc -l", kCommandTimeout));
    cpu_lists = TRY(g->run_ok("cat /sys/block/vda/mq/*/cpu_list", kCommandTimeout));
    // O_DIRECT I/O is submitted on the calling CPU's queue.
    read_cpu0 = TRY(
        guest_sha256(*g, "taskset -c 0 sh -c " + sh_quote(sha256_command("/dev/vda", 0, 4, true))));
    read_cpu1 = TRY(
        guest_sha256(*g, "taskset -c 1 sh -c " + sh_quote(sha256_command("/dev/vda", 0, 4, true))));
    written_cpu1 =
        TRY(guest_sha256(*g, "taskset -c 1 sh -c " +
                                 sh_quote(guest_write_random("/dev/vda", 8, 2, "oflag=direct"))));
    exit = TRY(power_off(*g));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_EQ(queues, "2\n1\n")
      << "hardware queues of vda (default: one per vCPU) and vdb (queues=1)";
  EXPECT_EQ(cpu_lists, "0\n1\n");
  EXPECT_EQ(read_cpu0, *content);
  EXPECT_EQ(read_cpu1, *content);
  EXPECT_TRUE(exit.exited && exit.code == 0) << "vmkit " << exit.describe();
  EXPECT_EQ(shown(host_sha256(*a, 8, 2)), written_cpu1) << "write from vCPU 1 lost";
}

class RngTest : public DeviceGuestTest {};

TEST_F(RngTest, HwrngIsVirtioAndYieldsRandomBytes) {
  GuestSpec spec = base_spec();
  std::string pci, virtio, rng, stats, second;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* g = TRY(boot(attempt, spec));
    pci = TRY(g->run_ok(kListVirtioPci, kCommandTimeout));
    virtio = TRY(g->run_ok(kListVirtioBus, kCommandTimeout));
    rng = TRY(g->run_ok("cd /sys/class/misc/hw_random && cat rng_available rng_current",
                        kCommandTimeout));
    // 64 KiB: its size, how many distinct byte values it holds, its checksum; then a second read.
    stats = TRY(
        g->run_ok("dd if=/dev/hwrng of=/tmp/r bs=1024 count=64 iflag=fullblock status=none && "
                  "wc -c < /tmp/r && hexdump -v -e '1/1 \"%02x\\n\"' /tmp/r | sort -u | wc -l && "
                  "sha256sum < /tmp/r",
                  Seconds(90)));
    second = TRY(guest_sha256(
        *g, "dd if=/dev/hwrng bs=1024 count=64 iflag=fullblock status=none | sha256sum",
        Seconds(90)));
    TRY(power_off(*g));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_EQ(count_lines(pci, "0x1044 virtio-pci"), 1) << pci;
  EXPECT_EQ(count_lines(virtio, "0x0004 virtio_rng"), 1) << virtio;
  EXPECT_THAT(rng, ::testing::MatchesRegex("virtio_rng\\.[0-9]+ *\nvirtio_rng\\.[0-9]+\n"));
  // "65536\n<distinct>\n<sha>  -\n"
  std::istringstream lines(stats);
  long bytes = 0, distinct = 0;
  std::string sha;
  lines >> bytes >> distinct >> sha;
  EXPECT_EQ(bytes, 65536) << stats;
  // 64 KiB of random bytes miss one of the 256 values with probability about 256 * e^-256.
  EXPECT_EQ(distinct, 256) << "distinct byte values in 64 KiB from /dev/hwrng:\n" << stats;
  EXPECT_NE(sha, second) << "two reads of /dev/hwrng returned the same 64 KiB";
}

TEST_F(RngTest, NoRngLeavesTheGuestWithoutOne) {
  GuestSpec spec = base_spec();
  spec.rng = false;
  std::string pci, virtio, available;
  GuestProcess::CommandOutput read;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* g = TRY(boot(attempt, spec));
    pci = TRY(g->run_ok(kListVirtioPci, kCommandTimeout));
    virtio =
        TRY(g->run_ok("cat /sys/bus/virtio/devices/*/device 2>/dev/null; true", kCommandTimeout));
    available = TRY(g->run_ok("cat /sys/class/misc/hw_random/rng_available 2>/dev/null; true",
                              kCommandTimeout));
    read = TRY(g->run("dd if=/dev/hwrng bs=16 count=1 status=none | wc -c", kCommandTimeout));
    TRY(power_off(*g));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_EQ(pci.find("0x1044"), std::string::npos) << pci;
  EXPECT_EQ(virtio.find("0x0004"), std::string::npos) << virtio;
  EXPECT_EQ(available.find("virtio_rng"), std::string::npos) << available;
  EXPECT_EQ(read.output.find("16"), std::string::npos) << "/dev/hwrng gave data: " << read.output;
}

class ConsoleTest : public DeviceGuestTest {};

// `console=hvc0` puts the init's login shell on hvc0 (guest/init/init); vmkit exposes hvc0 on a
// unix socket, and socat connected to it is the test's terminal.
TEST_F(ConsoleTest, Hvc0CarriesALoginShellAndItsOutput) {
  // A short path (sun_path holds 108 bytes) on a local file system.
  auto dir = ScratchDir::create("/tmp", "vmkit-hvc");
  ASSERT_TRUE(dir.ok()) << dir.error().message();
  GuestSpec spec = base_spec();
  spec.extra_cmdline = "console=hvc0";
  const std::string long_line(600, 'x');
  std::string tty, ports, lines, echoed;
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    // vmkit refuses an existing socket path (a killed vmkit leaves its socket): one per attempt.
    std::string socket = dir->file(fmt::format("hvc{}.sock", attempt.number()));
    spec.virtio_console = "unix:" + socket;
    GuestProcess* serial = TRY(attempt.start(vmkit_command(paths_, spec), "vmkit"));
    TRY(serial->wait_for_text("VMKIT-GUEST-READY", kBootTimeout));
    GuestProcess* hvc =
        TRY(attempt.start({"socat", "-", "UNIX-CONNECT:" + socket}, "hvc0 (socat)"));
    TRY(hvc->wait_for_shell(kCommandTimeout));
    tty = TRY(hvc->run_ok("tty", kCommandTimeout));
    ports = TRY(hvc->run_ok("ls /sys/class/virtio-ports; cat /sys/bus/virtio/devices/*/device",
                            kCommandTimeout));
    // Guest -> host: 2000 numbered lines (8.9 KB) arrive whole and in order.
    lines = TRY(hvc->run_ok("seq 1 2000", kCommandTimeout));
    // Host -> guest: a 600-character line typed into hvc0 (busybox ash edits lines of at most
    // 1024 characters, markers included).
    echoed = TRY(hvc->run_ok("echo " + long_line + " | wc -c", kCommandTimeout));
    // The serial console still works next to it.
    TRY(hvc->run_ok("echo serial-$((6 * 7)) > /dev/ttyS0", kCommandTimeout));
    TRY(serial->wait_for_text("serial-42", kCommandTimeout));
    // `poweroff` typed on hvc0; init reports on the serial console.
    TRY(hvc->type("poweroff\n"));
    TRY(serial->wait_for_text("VMKIT-POWEROFF", kExitTimeout));
    exit = TRY(serial->wait_exit(kExitTimeout));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_EQ(tty, "/dev/hvc0\n");
  EXPECT_THAT(ports, ::testing::ContainsRegex("vport[0-9]+p0\n"));
  EXPECT_EQ(count_lines(ports, "0x0003"), 1) << ports;
  std::string expected;
  for (int i = 1; i <= 2000; ++i) expected += fmt::format("{}\n", i);
  EXPECT_EQ(lines, expected) << "seq 1 2000 over hvc0 arrived damaged";
  EXPECT_EQ(echoed, "601\n");
  EXPECT_TRUE(exit.exited && exit.code == 0) << "vmkit " << exit.describe();
}

}  // namespace
}  // namespace vmkit::guest_test
