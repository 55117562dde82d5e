// Guest networking (issue 4, "Tests"), inside the nested test host: a stock Debian kernel with the
// Debian root (guest/build-rootfs.sh debian, with guest/net-tools.sh) on virtio-blk and a
// virtio-net card, under vmkit and, as the proof that the tests themselves are right, under QEMU
// with the same backend.
//   tap:  in a network namespace the test creates, with busybox udhcpd on the tap's host side:
//         the guest gets its address by DHCP, pings the host side, a 16 MiB checksummed file
//         crosses over TCP in both directions, and MAC and link state are what was configured;
//   user: the guest gets a DHCP lease from the user-mode network, and ssh from the host through
//         the forwarded port runs a command in the guest and returns its output.
// Every test deletes its namespace (with its tap and every process in it) and its files.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "../unit/net/testing/netns.h"
#include "harness/guest_test.h"
#include "harness/host_tools.h"

namespace vmkit::guest_test {
namespace {

enum class Monitor { kVmkit, kQemu };
constexpr const char* kMac = "52:54:00:12:34:56";

std::string cache_dir() {
  const char* c = std::getenv("VMKIT_CACHE");
  if (c != nullptr && *c) return c;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/root") + "/.cache/vmkit";
}

class NetTest : public GuestTest, public ::testing::WithParamInterface<Monitor> {
 protected:
  void SetUp() override {
    GuestTest::SetUp();
    if (HasFatalFailure()) return;
    if (GetParam() == Monitor::kVmkit) {
      Status vmkit = require_file(paths_.vmkit, "vmkit binary (VMKIT_BINARY)");
      ASSERT_TRUE(vmkit.ok()) << vmkit.error().message();
    }
    Status rootfs =
        require_file(paths_.rootfs_debian, "Debian guest root (guest/build-rootfs.sh debian)");
    ASSERT_TRUE(rootfs.ok()) << rootfs.error().message();
    ASSERT_TRUE(ns_.ok()) << "cannot create network namespace " << ns_.name();
    auto disk = copy_image(paths_.rootfs_debian);
    ASSERT_TRUE(disk.ok()) << disk.error().message();
    disk_ = *disk;
    spec_.disk = disk_;
    spec_.memory_mib = 512;
    spec_.extra_cmdline = "root=/dev/vda rw";
  }
  void TearDown() override {
    if (!disk_.empty()) ::unlink(disk_.c_str());
    // The namespace's destructor kills nothing: stop what the test started in it first.
    (void)host_shell(fmt::format("ip netns pids {} | xargs -r kill -KILL", ns_.name()));
  }

  // The monitor's command line with one network card, run inside the test's namespace.
  std::vector<std::string> command(const std::string& vmkit_net, const std::string& qemu_netdev) {
    std::vector<std::string> argv = {"ip", "netns", "exec", ns_.name()};
    if (GetParam() == Monitor::kVmkit) {
      auto v = vmkit_command(paths_, spec_);
      argv.insert(argv.end(), v.begin(), v.end());
      argv.insert(argv.end(), {"--net", vmkit_net});
    } else {
      auto q = qemu_command(paths_, spec_);
      argv.insert(argv.end(), q.begin(), q.end());
      argv.insert(argv.end(), {"-netdev", qemu_netdev, "-device",
                               fmt::format("virtio-net-pci,netdev=n0,mac={}", kMac)});
    }
    return argv;
  }

  Result<GuestProcess*> boot(GuestAttempt& attempt, std::vector<std::string> argv) {
    GuestProcess* guest =
        TRY(attempt.start(std::move(argv), GetParam() == Monitor::kVmkit ? "vmkit" : "qemu"));
    TRY(guest->wait_for_text("VMKIT-GUEST-READY", kBootTimeout));
    TRY(guest->wait_for_shell(kCommandTimeout));
    return guest;
  }

  vmkit::testing::NetNamespace ns_{"vmkit-net-it"};
  GuestSpec spec_;
  std::string disk_;
};

std::string monitor_name(const ::testing::TestParamInfo<Monitor>& info) {
  return info.param == Monitor::kVmkit ? "vmkit" : "qemu";
}

TEST_P(NetTest, TapAddressPingTransferBothWaysMacAndLink) {
  const std::string tap = "vmkt0";
  ASSERT_TRUE(host_shell_ok(fmt::format("ip netns exec {0} ip tuntap add dev {1} mode tap && "
                                        "ip netns exec {0} ip addr add 10.20.0.1/24 dev {1} && "
                                        "ip netns exec {0} ip link set {1} up",
                                        ns_.name(), tap))
                  .ok());
  // A DHCP server on the host side of the tap (busybox udhcpd), leasing 10.20.0.2.
  std::string dir = fmt::format("/var/tmp/vmkit-net-it-{}", ::getpid());
  ASSERT_TRUE(host_shell_ok("mkdir -p " + dir).ok());
  {
    std::ofstream conf(dir + "/udhcpd.conf");
    conf << "interface " << tap << "\nstart 10.20.0.2\nend 10.20.0.2\nmax_leases 1\n"
         << "lease_file " << dir << "/leases\npidfile " << dir << "/udhcpd.pid\n"
         << "option subnet 255.255.255.0\noption router 10.20.0.1\n";
  }
  ASSERT_TRUE(host_shell_ok(fmt::format("touch {0}/leases && ip netns exec {1} busybox udhcpd "
                                        "{0}/udhcpd.conf </dev/null >/dev/null 2>&1",
                                        dir, ns_.name()))
                  .ok());
  ASSERT_TRUE(host_shell_ok(fmt::format("head -c 16M /dev/urandom > {}/to-guest", dir)).ok());
  std::string sum = host_shell(fmt::format("sha256sum < {}/to-guest | cut -d' ' -f1", dir)).output;
  sum = sum.substr(0, 64);

  std::string lease, identity, ping, received, from_guest;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    (void)host_shell(fmt::format("rm -f {}/from-guest", dir));
    GuestProcess* guest = TRY(boot(attempt, command(fmt::format("tap,ifname={},mac={}", tap, kMac),
                                                    fmt::format("tap,id=n0,ifname={},script=no,"
                                                                "downscript=no,vhost=off",
                                                                tap))));
    lease = TRY(guest->run_ok("vmkit-net-up", kCommandTimeout));
    identity = TRY(guest->run_ok("cat /sys/class/net/eth0/address /sys/class/net/eth0/operstate",
                                 kCommandTimeout));
    ping = TRY(guest->run_ok("busybox ping -c 3 -W 5 10.20.0.1", kCommandTimeout));
    // Host -> guest.
    TRY(guest->run_ok("(busybox nc -l -p 5000 > /tmp/in &) ; sleep 1", kCommandTimeout));
    TRY(
        host_shell_ok(fmt::format("timeout 120 ip netns exec {} socat -u FILE:{}/to-guest "
                                  "TCP:10.20.0.2:5000,retry=10",
                                  ns_.name(), dir)));
    received = TRY(guest->run_ok("sleep 1; sha256sum /tmp/in | cut -d' ' -f1", kCommandTimeout));
    // Guest -> host.
    std::string listen = fmt::format(
        "ip netns exec {0} timeout 120 socat -u TCP-LISTEN:5001,reuseaddr "
        "OPEN:{1}/from-guest,creat "
        "</dev/null >/dev/null 2>&1 & echo $! > {1}/socat.pid; sleep 1",
        ns_.name(), dir);
    TRY(host_shell_ok(listen));
    TRY(guest->run_ok("bash -c 'cat /tmp/in > /dev/tcp/10.20.0.1/5001'", Seconds(120)));
    TRY(
        // The listener exits once the guest closes the connection (bounded: 60 s).
        host_shell_ok(fmt::format("pid=$(cat {0}/socat.pid); for i in $(seq 300); do "
                                  "kill -0 $pid 2>/dev/null || exit 0; sleep 0.2; done; exit 1",
                                  dir)));
    from_guest = host_shell(fmt::format("sha256sum < {}/from-guest | cut -d' ' -f1", dir)).output;
    return ok_status();
  });
  (void)host_shell("rm -rf " + dir);
  if (!ok) return;
  EXPECT_NE(lease.find("VMKIT-NET-UP 10.20.0.2/24"), std::string::npos) << lease;
  EXPECT_NE(identity.find(kMac), std::string::npos) << identity;
  EXPECT_NE(identity.find("up"), std::string::npos) << identity;
  EXPECT_NE(ping.find("3 packets received"), std::string::npos) << ping;
  EXPECT_EQ(received.substr(0, 64), sum) << "host -> guest file differs";
  EXPECT_EQ(from_guest.substr(0, 64), sum) << "guest -> host file differs";
}

TEST_P(NetTest, UserNetworkingDhcpLeaseAndSshThroughTheForwardedPort) {
  std::string key = cache_dir() + "/net/id_ed25519";
  std::string known = cache_dir() + "/net/known_hosts";
  ASSERT_TRUE(require_file(key, "test SSH key (guest/net-tools.sh key)").ok());
  const int port = 2222;  // inside the test's own namespace: never taken
  std::string lease, answer;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* guest = TRY(
        boot(attempt, command(fmt::format("user,hostfwd=tcp:127.0.0.1:{}-:22,mac={}", port, kMac),
                              fmt::format("user,id=n0,hostfwd=tcp:127.0.0.1:{}-:22", port))));
    lease = TRY(guest->run_ok("vmkit-net-up", kCommandTimeout));
    TRY(guest->run_ok("vmkit-sshd", kCommandTimeout));
    HostShellResult ssh = host_shell(fmt::format(
        "timeout 60 ip netns exec {} ssh -p {} -i {} -o UserKnownHostsFile={} "
        "-o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=30 root@127.0.0.1 "
        "'echo ssh-ok-$((6*7)); cat /proc/sys/kernel/hostname'",
        ns_.name(), port, key, known));
    if (ssh.status != 0) return Error("ssh failed: " + ssh.output);
    answer = ssh.output;
    return ok_status();
  });
  if (!ok) return;
  EXPECT_NE(lease.find("VMKIT-NET-UP 10.0.2.15/24"), std::string::npos) << lease;
  EXPECT_NE(answer.find("ssh-ok-42"), std::string::npos) << answer;
  EXPECT_NE(answer.find("vmkit-guest"), std::string::npos) << answer;
}

INSTANTIATE_TEST_SUITE_P(Monitors, NetTest, ::testing::Values(Monitor::kVmkit, Monitor::kQemu),
                         monitor_name);

// vmkit only: QEMU has no start-up option for the link state.
class VmkitNetTest : public NetTest {};

TEST_P(VmkitNetTest, LinkOffAndMacAreWhatWasConfigured) {
  std::string identity;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* guest = TRY(boot(attempt, command("user,mac=52:54:00:ab:cd:ef,link=off", "")));
    TRY(guest->run_ok("ip link set eth0 up; sleep 1", kCommandTimeout));
    identity = TRY(guest->run_ok("cat /sys/class/net/eth0/address /sys/class/net/eth0/carrier",
                                 kCommandTimeout));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_NE(identity.find("52:54:00:ab:cd:ef"), std::string::npos) << identity;
  EXPECT_NE(identity.find("\n0"), std::string::npos) << "carrier should be 0: " << identity;
}

INSTANTIATE_TEST_SUITE_P(Vmkit, VmkitNetTest, ::testing::Values(Monitor::kVmkit), monitor_name);

}  // namespace
}  // namespace vmkit::guest_test
