// A child process for tests: argv, stdin/stdout/stderr pipes, bounded waits. The destructor
// kills (SIGKILL) and reaps a child that is still running, so a failed assertion leaves nothing
// behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace vmkit::test {

class Subprocess {
 public:
  using Ms = std::chrono::milliseconds;

  // Starts argv[0] (searched in PATH) with piped stdio. Aborts the test binary on failure to
  // spawn (a broken test environment, not a test result).
  explicit Subprocess(const std::vector<std::string>& argv);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  void write_stdin(const std::string& data);
  void close_stdin();
  void send_signal(int sig);

  // Reads output until `needle` appears in stdout or stderr, the child exits, or the timeout.
  bool wait_for_output(const std::string& needle, Ms timeout);
  // Waits for exit; returns the exit code (128 + signal for a signal), or nothing on timeout.
  std::optional<int> wait(Ms timeout);

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }
  // The last `lines` lines of stdout and stderr, for failure messages.
  std::string tail(size_t lines = 30) const;
  pid_t pid() const { return pid_; }

 private:
  // Reads whatever is available within `timeout`; returns false when both pipes are closed.
  bool pump(Ms timeout);

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string out_;
  std::string err_;
  std::optional<int> status_;
};

// Runs argv to completion with `input` on stdin; the result holds exit code and output.
struct RunResult {
  std::optional<int> exit_code;  // nothing: timed out (the child was killed)
  std::string out;
  std::string err;
};
RunResult run(const std::vector<std::string>& argv, Subprocess::Ms timeout,
              const std::string& input = {});

}  // namespace vmkit::test
