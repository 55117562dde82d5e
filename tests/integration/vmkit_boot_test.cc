// vmkit boots Debian's stock kernel in the nested test host and the guest reports what it was
// given (issue 2, "Tests"). The same checks pass with QEMU as the monitor (qemu_boot_test.cc), so
// a failure here is vmkit's.
#include <fmt/format.h>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "harness/guest_test.h"

namespace vmkit::guest_test {
namespace {

// The exit status of `vmkit run --no-reboot` when the guest reboots, as `vmkit run --help`
// documents it (kExitRebootRequested in src/vmm/config.h).
constexpr int kNoRebootExitStatus = 3;

class VmkitTest : public GuestTest {
 protected:
  void SetUp() override {
    GuestTest::SetUp();
    if (HasFatalFailure()) return;
    Status vmkit = require_file(paths_.vmkit, "vmkit binary (VMKIT_BINARY)");
    ASSERT_TRUE(vmkit.ok()) << vmkit.error().message();
  }

  // Boots `spec` under vmkit up to a ready shell.
  Result<GuestProcess*> boot(GuestAttempt& attempt, const GuestSpec& spec) {
    GuestProcess* guest = TRY(attempt.start(vmkit_command(paths_, spec), "vmkit"));
    TRY(guest->wait_for_text("VMKIT-GUEST-READY", kBootTimeout));
    TRY(guest->wait_for_shell(kCommandTimeout));
    return guest;
  }
};

struct BootCase {
  unsigned cpus;
  std::uint64_t memory_mib;
};
void PrintTo(const BootCase& c, std::ostream* os) {
  *os << c.cpus << " vCPU, " << c.memory_mib << " MiB";
}

class VmkitBootTest : public VmkitTest, public ::testing::WithParamInterface<BootCase> {};

TEST_P(VmkitBootTest, StockKernelReportsCpusMemoryClockDateAndPowersOff) {
  GuestSpec spec;
  spec.cpus = GetParam().cpus;
  spec.memory_mib = GetParam().memory_mib;
  GuestFacts facts;
  std::string dmesg;
  ExitStatus exit;
  long long host_time = 0;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* guest = TRY(boot(attempt, spec));
    facts = TRY(read_guest_facts(*guest));
    host_time = static_cast<long long>(std::time(nullptr));
    dmesg = TRY(guest->run_ok("dmesg | grep -e 'Hypervisor detected' -e 'ACPI: PM:' || true",
                              kCommandTimeout));
    TRY(guest->type("poweroff\n"));
    TRY(guest->wait_for_text("VMKIT-POWEROFF", kExitTimeout));
    exit = TRY(guest->wait_exit(kExitTimeout));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_EQ(facts.nproc, spec.cpus) << "nproc differs from --cpus";
  expect_memory_matches(facts.mem_total_kib, spec.memory_mib);
  EXPECT_EQ(facts.clocksource, "kvm-clock");
  EXPECT_NEAR(static_cast<double>(facts.epoch_seconds), static_cast<double>(host_time), 120.0)
      << "the guest's date is not today (CMOS RTC)";
  EXPECT_NE(dmesg.find("Hypervisor detected: KVM"), std::string::npos) << dmesg;
  EXPECT_TRUE(exit.exited && exit.code == 0) << "after guest poweroff, vmkit " << exit.describe();
}

// The vCPU counts of the Cpus cases (256 MiB per vCPU): 1 and 2, or the comma-separated list in
// VMKIT_TEST_CPUS. 4 vCPUs (in the 2-vCPU nested host) is the separate CTest test
// guest_vmkit_smp4_test (VMKIT_TEST_CPUS=4), left out of scripts/test.sh: not stable enough there
// for every run (docs/testing.md, "SMP in the nested host").
std::vector<BootCase> boot_cases() {
  const char* env = std::getenv("VMKIT_TEST_CPUS");
  std::string list = env != nullptr && *env != '\0' ? env : "1,2";
  std::vector<BootCase> cases;
  for (std::size_t pos = 0; pos <= list.size();) {
    std::size_t comma = std::min(list.find(',', pos), list.size());
    std::string item = list.substr(pos, comma - pos);
    char* end = nullptr;
    unsigned long cpus = std::strtoul(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || cpus == 0 || cpus > 64) {
      std::fprintf(stderr, "VMKIT_TEST_CPUS: '%s' is not a list of vCPU counts (1-64)\n",
                   list.c_str());
      std::exit(2);
    }
    cases.push_back({static_cast<unsigned>(cpus), 256 * cpus});
    pos = comma + 1;
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Cpus, VmkitBootTest, ::testing::ValuesIn(boot_cases()),
                         [](const auto& param_info) {
                           return fmt::format("{}cpu_{}M", param_info.param.cpus,
                                              param_info.param.memory_mib);
                         });

TEST_F(VmkitTest, CloudKernelRunsCommandAndPowersOff) {
  GuestSpec spec;
  spec.flavour = Flavour::kCloud;
  spec.extra_cmdline = "vmkit_run=\"echo run-mode-$((6 * 7))\"";
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* guest = TRY(attempt.start(vmkit_command(paths_, spec), "vmkit"));
    TRY(guest->wait_for_text("run-mode-42\n", kBootTimeout));
    TRY(guest->wait_for_text("VMKIT-RUN-EXIT=0\n", kCommandTimeout));
    exit = TRY(guest->wait_exit(kExitTimeout));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_TRUE(exit.exited && exit.code == 0) << "vmkit " << exit.describe();
}

TEST_F(VmkitTest, GuestRebootWithNoRebootExitsWithDocumentedStatus) {
  GuestSpec spec;
  spec.no_reboot = true;
  ExitStatus exit;
  std::string after_reboot;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* guest = TRY(boot(attempt, spec));
    TRY(guest->type("reboot\n"));
    TRY(guest->wait_for_text("VMKIT-REBOOT", kExitTimeout));
    exit = TRY(guest->wait_exit(kExitTimeout));
    after_reboot = guest->console().substr(guest->console().find("VMKIT-REBOOT"));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_TRUE(exit.exited && exit.code == kNoRebootExitStatus)
      << "vmkit --no-reboot after a guest reboot: " << exit.describe() << ", expected exit status "
      << kNoRebootExitStatus;
  EXPECT_EQ(after_reboot.find("VMKIT-INIT-START"), std::string::npos)
      << "the guest started again despite --no-reboot";
}

TEST_F(VmkitTest, GuestRebootRestartsGuest) {
  GuestSpec spec;
  spec.no_reboot = false;
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* guest = TRY(boot(attempt, spec));
    TRY(guest->run_ok("echo first-boot > /dev/null", kCommandTimeout));
    TRY(guest->type("reboot\n"));
    TRY(guest->wait_for_text("VMKIT-REBOOT", kExitTimeout));
    // The same vmkit process boots the guest again.
    TRY(guest->wait_for_text("VMKIT-GUEST-READY", kBootTimeout));
    TRY(guest->wait_for_shell(kCommandTimeout));
    TRY(guest->run_ok("true", kCommandTimeout));
    TRY(guest->type("poweroff\n"));
    TRY(guest->wait_for_text("VMKIT-POWEROFF", kExitTimeout));
    exit = TRY(guest->wait_exit(kExitTimeout));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_TRUE(exit.exited && exit.code == 0) << "vmkit " << exit.describe();
}

TEST_F(VmkitTest, SigtermPressesPowerButtonAndGuestShutsDownCleanly) {
  GuestSpec spec;
  ExitStatus exit;
  bool ok = run_guest_scenario([&](GuestAttempt& attempt) -> Status {
    GuestProcess* guest = TRY(boot(attempt, spec));
    TRY(guest->send_signal(SIGTERM));
    TRY(guest->wait_for_text("VMKIT-POWER-BUTTON", kCommandTimeout));
    TRY(guest->wait_for_text("VMKIT-POWEROFF", kExitTimeout));
    exit = TRY(guest->wait_exit(kExitTimeout));
    return ok_status();
  });
  if (!ok) return;
  EXPECT_TRUE(exit.exited && exit.code == 0) << "vmkit after SIGTERM: " << exit.describe();
}

}  // namespace
}  // namespace vmkit::guest_test
