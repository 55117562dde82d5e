// The guest harness checked without KVM: a shell stands in for the monitor and its guest (it
// prints the markers and runs what is typed), so waits, command output, timeouts, failure
// classification, the retry rule and clean-up are tested on any machine (label unit).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "harness/guest_process.h"
#include "harness/guest_run.h"

namespace vmkit::guest_test {
namespace {

std::vector<std::string> fake_guest(const std::string& script) {
  return {"sh", "-c", script};
}

TEST(GuestProcessTest, RunsCommandsAndCollectsOutputAndStatus) {
  auto started = GuestProcess::start(fake_guest("echo VMKIT-GUEST-READY; exec sh -i 2>&1"), "fake");
  ASSERT_TRUE(started.ok()) << started.error().message();
  auto& guest = *started.value();
  ASSERT_TRUE(guest.wait_for_text("VMKIT-GUEST-READY", Seconds(10)).ok());
  ASSERT_TRUE(guest.wait_for_shell(Seconds(10)).ok());
  auto r = guest.run("echo one; echo two >&2; false", Seconds(10));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->output, "one\ntwo\n");
  EXPECT_EQ(r->status, 1);
  auto quoted = guest.run_ok("echo \"it's $((2 + 3))\"", Seconds(10));
  ASSERT_TRUE(quoted.ok()) << quoted.error().message();
  EXPECT_EQ(quoted.value(), "it's 5\n");
  auto syntax = guest.run("if then", Seconds(10));
  ASSERT_TRUE(syntax.ok()) << syntax.error().message();
  EXPECT_NE(syntax->status, 0);
  auto failing = guest.run_ok("exit_code() { return 4; }; exit_code", Seconds(10));
  ASSERT_FALSE(failing.ok());
  EXPECT_NE(failing.error().message().find("exited 4"), std::string::npos);
  ASSERT_TRUE(guest.type("exit 7\n").ok());
  auto exit = guest.wait_exit(Seconds(10));
  ASSERT_TRUE(exit.ok()) << exit.error().message();
  EXPECT_TRUE(exit->exited);
  EXPECT_EQ(exit->code, 7);
}

TEST(GuestProcessTest, RegexWaitReturnsGroupsAndMovesPastTheMatch) {
  auto started = GuestProcess::start(fake_guest("echo value=1; echo value=2; sleep 30"), "fake");
  ASSERT_TRUE(started.ok());
  auto& guest = *started.value();
  std::regex value("value=([0-9]+)\n");
  auto first = guest.wait_for(value, Seconds(10));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.value()[1], "1");
  auto second = guest.wait_for(value, Seconds(10));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.value()[1], "2");
}

TEST(GuestProcessTest, TimeoutWhileRunningIsTheNestedHostSignatureAndShowsLastLines) {
  auto started = GuestProcess::start(fake_guest("echo booting; echo last-words; sleep 30"), "fake");
  ASSERT_TRUE(started.ok());
  auto& guest = *started.value();
  Status s = guest.wait_for_text("never printed", Seconds(0.5));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("timed out"), std::string::npos);
  EXPECT_NE(s.error().message().find("last-words"), std::string::npos) << s.error().message();
  EXPECT_EQ(guest.failure_kind(), FailureKind::kNestedHostSignature);
}

TEST(GuestProcessTest, QuietEarlyExitIsTheNestedHostSignature) {
  auto started = GuestProcess::start(fake_guest("echo VMKIT-INIT-START; exit 0"), "fake");
  ASSERT_TRUE(started.ok());
  auto& guest = *started.value();
  Status s = guest.wait_for_text("VMKIT-GUEST-READY", Seconds(10));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(guest.failure_kind(), FailureKind::kNestedHostSignature) << guest.failure_reason();
}

TEST(GuestProcessTest, GuestResetIsTheNestedHostSignature) {
  auto started = GuestProcess::start(
      fake_guest("echo VMKIT-INIT-START; echo VMKIT-INIT-START; sleep 30"), "fake");
  ASSERT_TRUE(started.ok());
  auto& guest = *started.value();
  ASSERT_FALSE(guest.wait_for_text("VMKIT-GUEST-READY", Seconds(0.5)).ok());
  EXPECT_EQ(guest.failure_kind(), FailureKind::kNestedHostSignature);
  EXPECT_NE(guest.failure_reason().find("reset"), std::string::npos);
}

TEST(GuestProcessTest, TripleFaultAfterInitIsTheNestedHostSignature) {
  auto started = GuestProcess::start(
      fake_guest("echo VMKIT-INIT-START; "
                 "echo 'vmkit: error: the guest triple-faulted (KVM_EXIT_SHUTDOWN)' >&2; exit 1"),
      "fake");
  ASSERT_TRUE(started.ok());
  auto& guest = *started.value();
  ASSERT_FALSE(guest.wait_for_text("VMKIT-GUEST-READY", Seconds(10)).ok());
  EXPECT_EQ(guest.failure_kind(), FailureKind::kNestedHostSignature) << guest.failure_reason();
  EXPECT_NE(guest.failure_reason().find("triple fault"), std::string::npos);
}

TEST(GuestProcessTest, TripleFaultBeforeInitIsARealFailure) {
  auto started = GuestProcess::start(
      fake_guest("echo 'Linux version 6.1'; "
                 "echo 'vmkit: error: the guest triple-faulted (KVM_EXIT_SHUTDOWN)' >&2; exit 1"),
      "fake");
  ASSERT_TRUE(started.ok());
  auto& guest = *started.value();
  ASSERT_FALSE(guest.wait_for_text("VMKIT-GUEST-READY", Seconds(10)).ok());
  EXPECT_EQ(guest.failure_kind(), FailureKind::kReal) << guest.failure_reason();
}

TEST(GuestProcessTest, MonitorErrorIsARealFailure) {
  auto started =
      GuestProcess::start(fake_guest("echo 'vmkit: error: no such kernel' >&2; exit 1"), "fake");
  ASSERT_TRUE(started.ok());
  auto& guest = *started.value();
  Status s = guest.wait_for_text("VMKIT-GUEST-READY", Seconds(10));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(guest.failure_kind(), FailureKind::kReal);
  EXPECT_NE(s.error().message().find("no such kernel"), std::string::npos) << s.error().message();
}

TEST(GuestProcessTest, GuestKernelPanicIsARealFailure) {
  auto started =
      GuestProcess::start(fake_guest("echo 'Kernel panic - not syncing: x'; exit 0"), "fake");
  ASSERT_TRUE(started.ok());
  auto& guest = *started.value();
  ASSERT_FALSE(guest.wait_for_text("VMKIT-GUEST-READY", Seconds(10)).ok());
  EXPECT_EQ(guest.failure_kind(), FailureKind::kReal);
}

TEST(GuestProcessTest, MissingBinaryFailsClearly) {
  auto started = GuestProcess::start({"/nonexistent/vmkit", "run"}, "vmkit");
  ASSERT_TRUE(started.ok());
  auto& guest = *started.value();
  Status s = guest.wait_for_text("VMKIT-GUEST-READY", Seconds(10));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("cannot execute"), std::string::npos) << s.error().message();
  EXPECT_EQ(guest.failure_kind(), FailureKind::kReal);
}

TEST(GuestProcessTest, DestructorKillsAndReapsTheWholeProcessGroup) {
  pid_t pid = 0;
  {
    auto started = GuestProcess::start(fake_guest("sleep 1000 & sleep 1000"), "fake");
    ASSERT_TRUE(started.ok());
    pid = started.value()->pid();
    EXPECT_TRUE(started.value()->running());
  }
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  // The background sleep, killed too, is reparented and reaped by init: until then it is a
  // zombie that kill(2) still finds. Any process of the group left after 5 s survived.
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    gone = kill(-pid, 0) == -1 && errno == ESRCH;
    if (!gone) usleep(10'000);
  }
  EXPECT_TRUE(gone) << "a process of the group survived";
}

TEST(GuestProcessTest, SignalAndWaitExit) {
  auto started =
      GuestProcess::start(fake_guest("trap 'echo got-term; exit 0' TERM; "
                                     "echo VMKIT-GUEST-READY; while :; do sleep 0.1; done"),
                          "fake");
  ASSERT_TRUE(started.ok());
  auto& guest = *started.value();
  ASSERT_TRUE(guest.wait_for_text("VMKIT-GUEST-READY", Seconds(10)).ok());
  ASSERT_TRUE(guest.send_signal(SIGTERM).ok());
  ASSERT_TRUE(guest.wait_for_text("got-term", Seconds(10)).ok());
  auto exit = guest.wait_exit(Seconds(10));
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->code, 0);
}

// A scenario that fails with the signature on its first attempt and passes on the second.
TEST(RetryRuleTest, SignatureIsRetriedOnceAndCounted) {
  std::size_t before = retry_records().size();
  int attempts = 0;
  Status s = run_with_retry([&](GuestAttempt& attempt) -> Status {
    ++attempts;
    std::string script = attempt.number() == 1 ? "echo VMKIT-INIT-START; exit 0"
                                               : "echo VMKIT-GUEST-READY; sleep 30";
    GuestProcess* guest = TRY(attempt.start(fake_guest(script), "fake"));
    TRY(guest->wait_for_text("VMKIT-GUEST-READY", Seconds(10)));
    return ok_status();
  });
  EXPECT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(attempts, 2);
  ASSERT_EQ(retry_records().size(), before + 1);
  EXPECT_TRUE(retry_records().back().passed_on_retry);
}

TEST(RetryRuleTest, SecondSignatureFails) {
  int attempts = 0;
  Status s = run_with_retry([&](GuestAttempt& attempt) -> Status {
    ++attempts;
    GuestProcess* guest = TRY(attempt.start(fake_guest("sleep 30"), "fake"));
    TRY(guest->wait_for_text("VMKIT-GUEST-READY", Seconds(0.3)));
    return ok_status();
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(attempts, 2);
  EXPECT_NE(s.error().message().find("failed again on the retry"), std::string::npos);
  EXPECT_FALSE(retry_records().back().passed_on_retry);
}

TEST(RetryRuleTest, RealFailuresAreNotRetried) {
  int attempts = 0;
  Status s = run_with_retry([&](GuestAttempt& attempt) -> Status {
    ++attempts;
    GuestProcess* guest =
        TRY(attempt.start(fake_guest("echo VMKIT-GUEST-READY; exec sh -i 2>&1"), "fake"));
    TRY(guest->wait_for_text("VMKIT-GUEST-READY", Seconds(10)));
    return Error("nproc is 1, expected 2");
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(s.error().message(), "nproc is 1, expected 2");
}

// A second process of the attempt (the monitor, when the failed one is a client on its console
// socket) that reported an error makes the failure real, and its last lines are in the message.
TEST(RetryRuleTest, AnotherProcessReportingAnErrorMakesTheFailureReal) {
  int attempts = 0;
  Status s = run_with_retry([&](GuestAttempt& attempt) -> Status {
    ++attempts;
    GuestProcess* monitor = TRY(attempt.start(
        fake_guest("echo VMKIT-GUEST-READY; echo 'vmkit: error: device stuck' >&2; sleep 30"),
        "monitor"));
    TRY(monitor->wait_for_text("VMKIT-GUEST-READY", Seconds(10)));
    GuestProcess* client = TRY(attempt.start(fake_guest("sleep 30"), "client"));
    TRY(client->wait_for_text("prompt", Seconds(0.3)));
    return ok_status();
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(attempts, 1);
  EXPECT_NE(s.error().message().find("--- monitor's stderr:"), std::string::npos)
      << s.error().message();
  EXPECT_NE(s.error().message().find("device stuck"), std::string::npos) << s.error().message();
}

}  // namespace
}  // namespace vmkit::guest_test
