// The monitor end to end on this machine's own /dev/kvm with tiny payloads (no Linux): boot
// path (PVH), port I/O to the UART and RTC, ACPI poweroff, i8042 reset, triple fault, console
// input, signals and the shutdown timeout, and the command line's bad-input errors.
#include <gtest/gtest.h>
#include <pty.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>

#include "subprocess.h"

namespace vmkit::test {
namespace {

using namespace std::chrono_literals;

const std::string kVmkit = VMKIT_BINARY;
std::string payload(const std::string& name) {
  return std::string(PAYLOAD_DIR) + "/" + name + ".elf";
}

class NativeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // These tests need a working /dev/kvm: say so loudly instead of skipping.
    ASSERT_EQ(::access("/dev/kvm", R_OK | W_OK), 0)
        << "/dev/kvm is missing or not accessible: native tests need KVM";
  }
  std::string temp_path(const std::string& name) {
    return "/tmp/vmkit-native-" + std::to_string(::getpid()) + "-" + name;
  }
};

TEST_F(NativeTest, HelloPowersOff) {
  auto r = run({kVmkit, "run", "--kernel", payload("hello"), "--memory", "64M"}, 20s);
  ASSERT_TRUE(r.exit_code) << "timed out\n" << r.out << r.err;
  EXPECT_EQ(*r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("vmkit native payload: hello\n"), std::string::npos) << r.out;
}

TEST_F(NativeTest, SeveralVcpusAndLargeMemory) {
  // RAM split around the PCI hole (3584M: 3G low + 512M above 4G), 4 vCPUs created (APs stay
  // parked). Below 4G so that it fits the nested test host's RAM (vmkit refuses more).
  auto r =
      run({kVmkit, "run", "--kernel", payload("hello"), "--memory", "3584M", "--cpus", "4"}, 20s);
  ASSERT_TRUE(r.exit_code) << "timed out\n" << r.err;
  EXPECT_EQ(*r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("hello"), std::string::npos);
}

TEST_F(NativeTest, SerialInputReachesTheGuest) {
  auto r = run({kVmkit, "run", "--kernel", payload("echo"), "--memory", "64M"}, 20s, "abc123q");
  ASSERT_TRUE(r.exit_code) << "timed out\n" << r.out << r.err;
  EXPECT_EQ(*r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("echo ready\nabc123"), std::string::npos) << r.out;
}

TEST_F(NativeTest, RebootWithNoRebootExits3) {
  auto r =
      run({kVmkit, "run", "--kernel", payload("reboot"), "--memory", "64M", "--no-reboot"}, 20s);
  ASSERT_TRUE(r.exit_code) << "timed out\n" << r.err;
  EXPECT_EQ(*r.exit_code, 3) << r.err;
  EXPECT_NE(r.out.find("payload booted"), std::string::npos);
}

TEST_F(NativeTest, RebootRestartsTheGuest) {
  Subprocess p(
      {kVmkit, "run", "--kernel", payload("reboot"), "--memory", "64M", "--shutdown-timeout", "1"});
  p.close_stdin();
  // Three boots prove the VM is rebuilt after each reset.
  auto booted_three_times = [&] {
    size_t count = 0, pos = 0;
    while ((pos = p.out().find("payload booted", pos)) != std::string::npos) ++count, ++pos;
    return count >= 3;
  };
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!booted_three_times() && std::chrono::steady_clock::now() < deadline) {
    p.wait_for_output("never", 100ms);
  }
  ASSERT_TRUE(booted_three_times()) << p.tail();
  p.send_signal(SIGTERM);
  auto code = p.wait(20s);
  ASSERT_TRUE(code) << p.tail();
}

TEST_F(NativeTest, TripleFaultReportsRegistersAndFails) {
  auto r = run({kVmkit, "run", "--kernel", payload("triple_fault"), "--memory", "64M"}, 20s);
  ASSERT_TRUE(r.exit_code) << "timed out\n" << r.err;
  EXPECT_EQ(*r.exit_code, 1);
  // VT-x/AMD-V report the triple fault; PVM's emulator gives up on the exception delivery
  // first (an internal error). Either way: a clear error with the registers.
  EXPECT_TRUE(r.err.find("triple-faulted") != std::string::npos ||
              r.err.find("KVM_EXIT_INTERNAL_ERROR") != std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("rip="), std::string::npos) << r.err;
}

TEST_F(NativeTest, SigtermPressesPowerButtonThenTimesOut) {
  Subprocess p(
      {kVmkit, "run", "--kernel", payload("idle"), "--memory", "64M", "--shutdown-timeout", "1"});
  p.close_stdin();
  ASSERT_TRUE(p.wait_for_output("idle payload running", 20s)) << p.tail();
  p.send_signal(SIGTERM);
  auto code = p.wait(20s);
  ASSERT_TRUE(code) << p.tail();
  EXPECT_EQ(*code, 4) << p.tail();
  EXPECT_NE(p.err().find("power button"), std::string::npos) << p.tail();
  EXPECT_NE(p.err().find("did not shut down within 1s"), std::string::npos) << p.tail();
}

TEST_F(NativeTest, SecondSignalStopsAtOnce) {
  Subprocess p(
      {kVmkit, "run", "--kernel", payload("idle"), "--memory", "64M", "--shutdown-timeout", "60"});
  p.close_stdin();
  ASSERT_TRUE(p.wait_for_output("idle payload running", 20s)) << p.tail();
  p.send_signal(SIGINT);
  ASSERT_TRUE(p.wait_for_output("power button", 5s)) << p.tail();
  p.send_signal(SIGINT);
  auto code = p.wait(10s);
  ASSERT_TRUE(code) << p.tail();
  EXPECT_EQ(*code, 4);
}

TEST_F(NativeTest, ConsoleFileAndUnixSocket) {
  std::string log = temp_path("console.log");
  auto r = run(
      {kVmkit, "run", "--kernel", payload("hello"), "--memory", "64M", "--console", "file:" + log},
      20s);
  ASSERT_TRUE(r.exit_code);
  EXPECT_EQ(*r.exit_code, 0) << r.err;
  std::ifstream in(log);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(content.find("vmkit native payload: hello"), std::string::npos);
  ::unlink(log.c_str());

  std::string sock = temp_path("console.sock");
  r = run(
      {kVmkit, "run", "--kernel", payload("hello"), "--memory", "64M", "--console", "unix:" + sock},
      20s);
  ASSERT_TRUE(r.exit_code);
  EXPECT_EQ(*r.exit_code, 0) << r.err;
  struct stat st {};
  EXPECT_NE(::stat(sock.c_str(), &st), 0) << "the socket file was left behind";
}

// The terminal goes raw while vmkit runs and is restored afterwards, also when the guest is
// quit with the console escape (Ctrl-A x).
TEST_F(NativeTest, TerminalRestoredAfterQuitEscape) {
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  termios before{};
  ASSERT_EQ(::tcgetattr(slave, &before), 0);
  ASSERT_TRUE(before.c_lflag & ICANON);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setsid();
    ::dup2(slave, 0);
    ::dup2(slave, 1);
    ::dup2(slave, 2);
    ::execl(kVmkit.c_str(), kVmkit.c_str(), "run", "--kernel", payload("echo").c_str(), "--memory",
            "64M", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until the guest is up (its banner arrives on the master side), check raw mode, quit.
  std::string seen;
  for (int i = 0; i < 200 && seen.find("echo ready") == std::string::npos; ++i) {
    char buf[256];
    ssize_t n = ::read(master, buf, sizeof(buf));
    if (n > 0) seen.append(buf, static_cast<size_t>(n));
  }
  ASSERT_NE(seen.find("echo ready"), std::string::npos) << seen;
  termios during{};
  ASSERT_EQ(::tcgetattr(slave, &during), 0);
  EXPECT_FALSE(during.c_lflag & ICANON) << "stdio should be raw while the guest runs";
  EXPECT_FALSE(during.c_lflag & ECHO);
  ASSERT_EQ(::write(master, "hi\x01x", 4), 4);
  int status = 0;
  for (int i = 0; i < 200 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) ::usleep(50000);
  ASSERT_TRUE(WIFEXITED(status)) << "vmkit did not exit after Ctrl-A x";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  termios after{};
  ASSERT_EQ(::tcgetattr(slave, &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  EXPECT_EQ(after.c_oflag, before.c_oflag);
  ::close(master);
  ::close(slave);
}

// --- bad input: one line "vmkit: error: ...", non-zero exit, nothing left behind ---

void expect_one_line_error(const RunResult& r, const std::string& needle, int code = 1) {
  ASSERT_TRUE(r.exit_code) << "timed out";
  EXPECT_EQ(*r.exit_code, code) << r.err;
  EXPECT_EQ(r.err.rfind("vmkit: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST_F(NativeTest, BadInput) {
  std::string junk = temp_path("junk"), truncated = temp_path("truncated");
  { std::ofstream(junk) << "this is not a kernel"; }
  expect_one_line_error(run({kVmkit, "run", "--kernel", "/nonexistent/vmlinuz"}, 10s),
                        "kernel /nonexistent/vmlinuz: No such file or directory");
  expect_one_line_error(run({kVmkit, "run", "--kernel", junk}, 10s), "not a bzImage");
  expect_one_line_error(run({kVmkit, "run", "--kernel", payload("hello"), "--memory", "0"}, 10s),
                        "--memory must be more than 0");
  expect_one_line_error(run({kVmkit, "run", "--kernel", payload("hello"), "--memory", "64T"}, 10s),
                        "more than this host's RAM");
  expect_one_line_error(run({kVmkit, "run", "--kernel", payload("hello"), "--memory", "12Q"}, 10s),
                        "invalid size '12Q'");
  expect_one_line_error(run({kVmkit, "run", "--kernel", payload("hello"), "--cpus", "0"}, 10s),
                        "--cpus must be at least 1");
  expect_one_line_error(run({kVmkit, "run", "--kernel", payload("hello"), "--cpus", "100000"}, 10s),
                        "more than KVM allows");
  expect_one_line_error(run({kVmkit, "run", "--kernel", payload("hello"), "--bogus"}, 10s),
                        "--bogus", 2);
  expect_one_line_error(
      run({kVmkit, "run", "--kernel", payload("hello"), "--console", "file:/nonexistent-dir/log"},
          10s),
      "console file: /nonexistent-dir/log: No such file or directory");
  expect_one_line_error(run({kVmkit, "run", "--kernel", payload("hello"), "--console", "tty"}, 10s),
                        "expected stdio, pty, file:PATH, unix:PATH or none");
  expect_one_line_error(
      run({kVmkit, "run", "--kernel", payload("hello"), "--initrd", "/nonexistent/initrd"}, 10s),
      "initrd /nonexistent/initrd");
  ::unlink(junk.c_str());
}

TEST_F(NativeTest, TruncatedKernelAndOversizedInitrd) {
  std::string truncated = temp_path("truncated-bzimage");
  std::string big_initrd = temp_path("big-initrd");
  // A bzImage header claiming more payload than the file has.
  {
    std::string image(0x1000, '\0');
    auto put16 = [&](size_t off, uint16_t v) { std::memcpy(&image[off], &v, 2); };
    auto put32 = [&](size_t off, uint32_t v) { std::memcpy(&image[off], &v, 4); };
    image[0x1f1] = 4;          // setup_sects
    put32(0x1f4, 0x10000);     // syssize (16-byte units): 1 MiB
    put16(0x1fe, 0xaa55);      // boot_flag
    put32(0x202, 0x53726448);  // "HdrS"
    put16(0x206, 0x020f);      // protocol 2.15
    image[0x211] = 1;          // LOADED_HIGH
    put16(0x236, 1);           // XLF_KERNEL_64
    std::ofstream(truncated, std::ios::binary) << image;
  }
  expect_one_line_error(run({kVmkit, "run", "--kernel", truncated}, 10s), "truncated bzImage");
  // A 100 MiB initrd for a 64 MiB guest.
  {
    std::ofstream f(big_initrd, std::ios::binary);
    f.seekp(100 << 20);
    f.put('\0');
  }
  expect_one_line_error(
      run({kVmkit, "run", "--kernel", payload("hello"), "--memory", "64M", "--initrd", big_initrd},
          10s),
      "does not fit in guest memory");
  ::unlink(truncated.c_str());
  ::unlink(big_initrd.c_str());
}

// The kernel and initrd load on a thread beside the device, firmware and vCPU setup; the first
// error reported is still the one of the earliest step: devices, then images, then vCPUs.
TEST_F(NativeTest, ErrorsFollowTheOrderOfTheSteps) {
  std::string junk = temp_path("junk-kernel"), bad_qcow2 = temp_path("bad.qcow2");
  { std::ofstream(junk) << "this is not a kernel"; }
  {
    std::string image(4096, '\0');
    std::memcpy(image.data(), "QFI\xfb\0\0\0\x09", 8);  // qcow2 magic, version 9
    std::ofstream(bad_qcow2, std::ios::binary) << image;
  }
  // A device error comes before the kernel's.
  expect_one_line_error(
      run({kVmkit, "run", "--kernel", junk, "--disk", "path=" + bad_qcow2 + ",format=qcow2"}, 10s),
      "unsupported qcow2 version 9");
  // The kernel's error comes before a vCPU's (here: out of file descriptors at about vCPU 23).
  const std::string limited = "ulimit -n 40 && exec " + kVmkit + " run --cpus 64 --kernel ";
  expect_one_line_error(run({"sh", "-c", limited + junk}, 10s), "not a bzImage");
  expect_one_line_error(run({"sh", "-c", limited + payload("hello")}, 10s), "KVM_CREATE_VCPU");
  ::unlink(junk.c_str());
  ::unlink(bad_qcow2.c_str());
}

TEST_F(NativeTest, NoKvmDeviceOrNoPermission) {
  ASSERT_EQ(::geteuid(), 0u) << "this test needs root (unshare, setpriv)";
  // /dev without kvm, in a private mount namespace.
  expect_one_line_error(
      run({"unshare", "--mount", "sh", "-c",
           "mount -t tmpfs none /dev && exec " + kVmkit + " run --kernel " + payload("hello")},
          10s),
      "/dev/kvm does not exist");
  // An unprivileged user (the device is root-only on this machine kind).
  struct stat st {};
  ASSERT_EQ(::stat("/dev/kvm", &st), 0);
  if ((st.st_mode & 0006) == 0) {
    expect_one_line_error(run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               kVmkit, "run", "--kernel", payload("hello")},
                              10s),
                          "no permission to open /dev/kvm");
  }
}

}  // namespace
}  // namespace vmkit::test
