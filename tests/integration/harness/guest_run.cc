#include "guest_run.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <cstdio>
#include <cstdlib>

namespace vmkit::guest_test {
namespace {

std::vector<RetryRecord>& records() {
  static std::vector<RetryRecord> r;
  return r;
}
int scenarios = 0;

std::string current_test_name() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return info == nullptr ? "(no test)"
                         : fmt::format("{}.{}", info->test_suite_name(), info->name());
}

void append_retry_log(const RetryRecord& r) {
  const char* path = std::getenv("VMKIT_GUEST_RETRY_LOG");
  if (path == nullptr || *path == '\0') return;
  if (FILE* f = std::fopen(path, "a")) {
    std::fprintf(f, "%s\t%s\t%s\n", r.test.c_str(), r.passed_on_retry ? "passed" : "failed",
                 r.reason.c_str());
    std::fclose(f);
  }
}

class RetrySummary : public ::testing::EmptyTestEventListener {
  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    const auto& r = records();
    std::printf("[ GUESTS   ] %d guest scenario(s), %zu retried under the nested-host rule\n",
                scenarios, r.size());
    for (const auto& rec : r) {
      std::printf("[ GUESTS   ]   retried %s (%s on retry): %s\n", rec.test.c_str(),
                  rec.passed_on_retry ? "passed" : "FAILED", rec.reason.c_str());
    }
    std::fflush(stdout);
  }
};

}  // namespace

Result<GuestProcess*> GuestAttempt::start(std::vector<std::string> argv, std::string name) {
  auto process = TRY(GuestProcess::start(std::move(argv), std::move(name)));
  processes_.push_back(std::move(process));
  return processes_.back().get();
}

const GuestProcess* GuestAttempt::failed_process() const {
  for (const auto& p : processes_) {
    if (p->failure_kind() != FailureKind::kNone) return p.get();
  }
  return nullptr;
}

std::string GuestAttempt::others_report(const GuestProcess* failed) {
  std::string report;
  for (auto& p : processes_) {
    if (p.get() != failed) report += "\n" + p->current_last_lines(15);
  }
  return report;
}

bool GuestAttempt::other_reported_error(const GuestProcess* failed) const {
  for (const auto& p : processes_) {
    if (p.get() != failed && p->reported_error()) return true;
  }
  return false;
}

Status run_with_retry(const Scenario& scenario) {
  ++scenarios;
  std::string reason;
  for (int attempt_number = 1; attempt_number <= 2; ++attempt_number) {
    Status status = ok_status();
    bool signature = false;
    {
      GuestAttempt attempt(attempt_number);
      status = scenario(attempt);
      if (!status.ok()) {
        // A process's operation failed: its message has its own last lines, add the others'.
        if (const GuestProcess* failed = attempt.failed_process()) {
          std::string others = attempt.others_report(failed);  // reads their output first
          signature = failed->failure_kind() == FailureKind::kNestedHostSignature &&
                      !attempt.other_reported_error(failed);
          if (signature) reason = failed->failure_reason();
          if (!others.empty()) status = Error(status.error().message() + others);
        }
      }
    }  // the attempt's processes are killed and reaped here
    if (attempt_number == 2 && !records().empty() && records().back().test == current_test_name()) {
      records().back().passed_on_retry = status.ok();
      append_retry_log(records().back());
    }
    if (status.ok()) return status;
    if (!signature || attempt_number == 2) {
      if (attempt_number == 2) {
        return Error("failed again on the retry (nested-host rule): " + status.error().message());
      }
      return status;
    }
    std::string test = current_test_name();
    std::printf(
        "[ RETRY    ] %s: the guest run failed with the nested host's signature (%s); retrying "
        "once. The failure was:\n%s\n",
        test.c_str(), reason.c_str(), status.error().message().c_str());
    std::fflush(stdout);
    records().push_back({test, reason, false});
    ::testing::Test::RecordProperty("guest_retries", 1);
  }
  return ok_status();  // not reached
}

bool run_guest_scenario(const Scenario& scenario) {
  Status status = run_with_retry(scenario);
  if (!status.ok()) ADD_FAILURE() << status.error().message();
  return status.ok();
}

const std::vector<RetryRecord>& retry_records() {
  return records();
}
int scenario_count() {
  return scenarios;
}

void install_retry_summary() {
  ::testing::UnitTest::GetInstance()->listeners().Append(new RetrySummary);
}

}  // namespace vmkit::guest_test
