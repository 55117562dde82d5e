// The retry rule for guest runs in the nested test host (issue 2, docs/testing.md): a run that
// fails with the nested host's signature (the guest's output stops, or the guest resets, and the
// monitor reports no error) is retried once, loudly: the retry is printed when it happens, and
// counted in the summary at the end of the test program (and in $VMKIT_GUEST_RETRY_LOG if set).
// Any other failure, or a second failure, fails the test.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "guest_process.h"

namespace vmkit::guest_test {

// One attempt of a scenario. Processes started through it are killed and reaped when the
// attempt ends, whatever happened.
class GuestAttempt {
 public:
  explicit GuestAttempt(int number) : number_(number) {}
  Result<GuestProcess*> start(std::vector<std::string> argv, std::string name);
  int number() const { return number_; }
  // The first process whose last operation failed, if any.
  const GuestProcess* failed_process() const;
  // What the attempt's other processes show (their last lines, read now), for the failure
  // message, and whether one of them reported an error (then the failure is not the nested
  // host's signature, whatever the failed process saw).
  std::string others_report(const GuestProcess* failed);
  bool other_reported_error(const GuestProcess* failed) const;

 private:
  int number_;
  std::vector<std::unique_ptr<GuestProcess>> processes_;
};

using Scenario = std::function<Status(GuestAttempt&)>;

// Runs `scenario` under the retry rule; returns the final failure, if any.
Status run_with_retry(const Scenario& scenario);

// run_with_retry() for use in a test body: a failure is reported with ADD_FAILURE (the test goes
// on to its end, so nothing is left running). Returns true on success.
bool run_guest_scenario(const Scenario& scenario);

// Counts for the summary.
struct RetryRecord {
  std::string test;
  std::string reason;
  bool passed_on_retry = false;
};
const std::vector<RetryRecord>& retry_records();
int scenario_count();

// Prints the retry summary at the end of the test program; installed by guest_main.cc.
void install_retry_summary();

}  // namespace vmkit::guest_test
