// GuestProcess: one monitor process (vmkit, or QEMU for the harness's own checks) with the guest's
// serial console on a pipe. Tests wait for text on the console with bounded timeouts, type
// commands and collect their output between unique markers, and wait for the monitor to exit.
// The process is always killed and reaped when the GuestProcess goes away, also when a test
// fails half-way.
//
// Every failing operation returns an Error whose message ends with the guest's last console
// lines and the monitor's stderr, and records whether the failure looks like the nested test
// host's known failure (guest output stops, or the guest resets and the monitor exits quietly),
// which the retry rule in guest_run.h uses.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace vmkit::guest_test {

using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

// How a monitor process ended.
struct ExitStatus {
  bool exited = false;  // exited normally (else killed by `signal`)
  int code = 0;
  int signal = 0;
  std::string describe() const;
};

// Why an operation failed: the nested host's signature may be retried once (guest_run.h).
enum class FailureKind { kNone, kNestedHostSignature, kReal };

class GuestProcess {
 public:
  // Starts argv[0] (looked up in PATH) with stdin and stdout on pipes (the guest's console) and
  // stderr on a third pipe (the monitor's own messages). `name` labels messages.
  static Result<std::unique_ptr<GuestProcess>> start(std::vector<std::string> argv,
                                                     std::string name);
  ~GuestProcess();
  GuestProcess(const GuestProcess&) = delete;
  GuestProcess& operator=(const GuestProcess&) = delete;

  // Waits until the console output after the read position matches `pattern`, then moves the
  // read position past the match. Returns the match's groups (0 = whole match).
  Result<std::vector<std::string>> wait_for(const std::regex& pattern, Seconds timeout);
  // Same for a literal string.
  Status wait_for_text(std::string_view text, Seconds timeout);

  // Writes to the guest's console input.
  Status type(std::string_view text);

  // Waits for the shell on the console to answer (retyping a probe until it does).
  Status wait_for_shell(Seconds timeout);
  // Types `command` into the guest's shell and returns its output (stdout and stderr) and exit
  // status, delimited by unique markers. The shell must be ready (wait_for_shell). The command
  // runs in a subshell: `cd` or variables do not carry over to the next one.
  struct CommandOutput {
    std::string output;
    int status = 0;
  };
  Result<CommandOutput> run(std::string_view command, Seconds timeout);
  // run() that also fails unless the command exits 0; returns its output.
  Result<std::string> run_ok(std::string_view command, Seconds timeout);

  // Waits for the monitor to exit (keeps reading its output meanwhile).
  Result<ExitStatus> wait_exit(Seconds timeout);
  // Sends a signal to the monitor.
  Status send_signal(int sig);

  bool running();
  std::optional<ExitStatus> exit_status() const { return exit_status_; }
  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  // Everything the guest printed so far (CR removed) and the monitor's stderr.
  const std::string& console() const { return console_; }
  const std::string& monitor_stderr() const { return stderr_; }
  // The last `lines` lines of the console and of the monitor's stderr, for failure messages.
  std::string last_lines(std::size_t lines = 30) const;
  // Reads what the process wrote meanwhile, then returns last_lines().
  std::string current_last_lines(std::size_t lines = 30);
  // The monitor reported an error on its stderr, or the guest kernel one on the console.
  bool reported_error() const;
  // Seconds since start().
  double elapsed() const;

  // The kind of the most recent failure of an operation on this process.
  FailureKind failure_kind() const { return failure_kind_; }
  const std::string& failure_reason() const { return failure_reason_; }

 private:
  GuestProcess(pid_t pid, UniqueFd in, UniqueFd out, UniqueFd err, std::string name);
  // Reads whatever is available for up to `wait`; reaps the process once its pipes close.
  void pump(Seconds wait);
  void reap(bool block);
  void kill_and_reap();
  // The guest kernel printed a panic, BUG or Oops on the console.
  bool guest_kernel_error() const;
  // Builds the failure Error and classifies it.
  Error fail(std::string what);

  pid_t pid_;
  UniqueFd in_, out_, err_;
  std::string name_;
  std::string console_;
  std::string stderr_;
  std::size_t cursor_ = 0;
  std::size_t last_match_start_ = 0;
  unsigned sequence_ = 0;
  std::optional<ExitStatus> exit_status_;
  Clock::time_point started_;
  FailureKind failure_kind_ = FailureKind::kNone;
  std::string failure_reason_;
};

}  // namespace vmkit::guest_test
