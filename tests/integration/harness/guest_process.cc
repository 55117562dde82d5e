#include "guest_process.h"

#include "harness/host_tools.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace vmkit::guest_test {
namespace {

// Lines the guest prints when its own kernel failed: such a failure is real, never retried.
constexpr std::string_view kGuestKernelErrors[] = {"Kernel panic",
                                                   "BUG: ", "Oops: ", "general protection fault"};
// Printed by the guest's init at the start of userspace (guest/init/init); twice means a reset.
constexpr std::string_view kInitStart = "VMKIT-INIT-START";
// What vmkit prints when the guest triple-faults (src/vmm/exit_handler.cc).
constexpr std::string_view kTripleFault = "the guest triple-faulted (KVM_EXIT_SHUTDOWN)";

std::string tail_lines(const std::string& text, std::size_t lines) {
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (std::size_t n = 0; n < lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return pos == 0 ? text : text.substr(pos + 1);
}

std::string indent(const std::string& text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += "  | ";
    out.append(text, start, end - start);
    out += '\n';
    start = end + 1;
  }
  return out;
}

std::size_t count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t pos = text.find(what); pos != std::string::npos;
       pos = text.find(what, pos + what.size())) {
    ++n;
  }
  return n;
}

bool contains_ci(const std::string& text, std::string_view what) {
  auto it = std::search(text.begin(), text.end(), what.begin(), what.end(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  return it != text.end();
}

}  // namespace

std::string ExitStatus::describe() const {
  return exited ? fmt::format("exit status {}", code)
                : fmt::format("killed by signal {} ({})", signal, strsignal(signal));
}

Result<std::unique_ptr<GuestProcess>> GuestProcess::start(std::vector<std::string> argv,
                                                          std::string name) {
  if (argv.empty()) return Error("GuestProcess::start: empty command line");
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0) return Error::from_errno("pipe2");
  if (pipe2(out, O_CLOEXEC) != 0) return Error::from_errno("pipe2");
  if (pipe2(err, O_CLOEXEC) != 0) return Error::from_errno("pipe2");
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Error::from_errno("fork");
  if (pid == 0) {
    // The child: its own process group (so the whole group can be killed), dies with the test.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    signal(SIGPIPE, SIG_DFL);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    execvp(args[0], args.data());
    const char* why = strerror(errno);
    dprintf(2, "cannot execute %s: %s\n", args[0], why);
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so the group exists before we ever kill it
  close(in[0]);
  close(out[1]);
  close(err[1]);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  return std::unique_ptr<GuestProcess>(
      new GuestProcess(pid, UniqueFd(in[1]), UniqueFd(out[0]), UniqueFd(err[0]), std::move(name)));
}

GuestProcess::GuestProcess(pid_t pid, UniqueFd in, UniqueFd out, UniqueFd err, std::string name)
    : pid_(pid),
      in_(std::move(in)),
      out_(std::move(out)),
      err_(std::move(err)),
      name_(std::move(name)),
      started_(Clock::now()) {}

GuestProcess::~GuestProcess() {
  kill_and_reap();
}

void GuestProcess::kill_and_reap() {
  if (!exit_status_) {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    reap(true);
  } else {
    kill(-pid_, SIGKILL);  // leftovers of the group, if any
  }
}

void GuestProcess::reap(bool block) {
  if (exit_status_) return;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return;
  ExitStatus s;
  if (WIFEXITED(status)) {
    s.exited = true;
    s.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
  }
  exit_status_ = s;
}

void GuestProcess::pump(Seconds wait) {
  pollfd fds[2];
  nfds_t n = 0;
  if (out_) fds[n++] = {out_.get(), POLLIN, 0};
  if (err_) fds[n++] = {err_.get(), POLLIN, 0};
  int ms = std::max(0, static_cast<int>(wait.count() * 1000));
  if (n == 0) {
    // Both pipes closed: only the exit remains to be seen.
    reap(false);
    if (!exit_status_ && ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(ms, 20)));
    reap(false);
    return;
  }
  int ready = poll(fds, n, ms);
  if (ready < 0 && errno != EINTR) return;
  char buf[4096];
  for (nfds_t i = 0; i < n; ++i) {
    if (fds[i].revents == 0) continue;
    bool is_out = out_ && fds[i].fd == out_.get();
    for (;;) {
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        std::string& sink = is_out ? console_ : stderr_;
        for (ssize_t k = 0; k < got; ++k) {
          if (buf[k] != '\r') sink += buf[k];
        }
        continue;
      }
      if (got == 0) (is_out ? out_ : err_).reset();  // EOF
      break;                                         // EAGAIN or error
    }
  }
  reap(false);
}

bool GuestProcess::running() {
  pump(Seconds(0));
  return !exit_status_;
}

double GuestProcess::elapsed() const {
  return Seconds(Clock::now() - started_).count();
}

std::string GuestProcess::last_lines(std::size_t lines) const {
  std::string text = fmt::format("--- last {} lines of {}'s guest console:\n", lines, name_);
  text += console_.empty() ? "  (nothing)\n" : indent(tail_lines(console_, lines));
  if (!stderr_.empty()) {
    text += fmt::format("--- {}'s stderr:\n", name_);
    text += indent(tail_lines(stderr_, 15));
  }
  return text;
}

std::string GuestProcess::current_last_lines(std::size_t lines) {
  pump(Seconds(0));
  return last_lines(lines);
}

bool GuestProcess::guest_kernel_error() const {
  for (auto e : kGuestKernelErrors) {
    if (console_.find(e) != std::string::npos) return true;
  }
  return false;
}

bool GuestProcess::reported_error() const {
  return guest_kernel_error() || contains_ci(stderr_, "error");
}

Error GuestProcess::fail(std::string what) {
  pump(Seconds(0));
  bool kernel_error = guest_kernel_error();
  bool monitor_error = contains_ci(stderr_, "error");
  // A triple fault once the guest's own init runs is the guest resetting: the kernel's own
  // tables are in use by then, not vmkit's boot state (vmkit reports what QEMU turns into a
  // silent reset). Before init it stays a real failure: vmkit's boot setup may be at fault.
  bool reset_in_userspace =
      stderr_.find(kTripleFault) != std::string::npos && count(console_, kInitStart) >= 1;
  if (kernel_error) {
    failure_kind_ = FailureKind::kReal;
    failure_reason_ = "the guest kernel reported an error";
  } else if (reset_in_userspace) {
    failure_kind_ = FailureKind::kNestedHostSignature;
    failure_reason_ =
        "the guest reset (a triple fault after its init started, no guest kernel error)";
  } else if (monitor_error) {
    failure_kind_ = FailureKind::kReal;
    failure_reason_ = "the monitor reported an error";
  } else if (count(console_, kInitStart) > 1) {
    failure_kind_ = FailureKind::kNestedHostSignature;
    failure_reason_ = "the guest reset (its init started twice) and the monitor reported no error";
  } else if (!exit_status_) {
    failure_kind_ = FailureKind::kNestedHostSignature;
    failure_reason_ = "guest output stopped, the monitor is still running and reported no error";
  } else if (exit_status_->exited && exit_status_->code == 0) {
    failure_kind_ = FailureKind::kNestedHostSignature;
    failure_reason_ = "the guest vanished: the monitor exited 0 early and reported no error";
  } else {
    failure_kind_ = FailureKind::kReal;
    failure_reason_ = "the monitor failed (" + exit_status_->describe() + ")";
  }
  std::string state = exit_status_ ? exit_status_->describe() : "still running";
  return Error(fmt::format("{}: {} ({:.1f}s after start; monitor {})\n{}", name_, what, elapsed(),
                           state, last_lines()));
}

Result<std::vector<std::string>> GuestProcess::wait_for(const std::regex& pattern,
                                                        Seconds timeout) {
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
  for (;;) {
    std::smatch m;
    auto begin = console_.cbegin() + static_cast<std::ptrdiff_t>(cursor_);
    if (std::regex_search(begin, console_.cend(), m, pattern)) {
      std::vector<std::string> groups;
      for (const auto& g : m) groups.push_back(g.str());
      last_match_start_ = static_cast<std::size_t>(m[0].first - console_.cbegin());
      cursor_ = static_cast<std::size_t>(m[0].second - console_.cbegin());
      failure_kind_ = FailureKind::kNone;
      return groups;
    }
    if (exit_status_ && !out_ && !err_)
      return fail("the monitor exited while waiting for the guest");
    auto now = Clock::now();
    if (now >= deadline) {
      return fail(fmt::format("timed out after {:.0f}s waiting for the guest", timeout.count()));
    }
    pump(std::min<Seconds>(Seconds(deadline - now), Seconds(0.2)));
  }
}

Status GuestProcess::wait_for_text(std::string_view text, Seconds timeout) {
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
  for (;;) {
    std::size_t pos = console_.find(text, cursor_);
    if (pos != std::string::npos) {
      last_match_start_ = pos;
      cursor_ = pos + text.size();
      failure_kind_ = FailureKind::kNone;
      return ok_status();
    }
    if (exit_status_ && !out_ && !err_) {
      return fail(fmt::format("the monitor exited before the guest printed \"{}\"", text));
    }
    auto now = Clock::now();
    if (now >= deadline) {
      return fail(fmt::format("timed out after {:.0f}s waiting for \"{}\"", timeout.count(), text));
    }
    pump(std::min<Seconds>(Seconds(deadline - now), Seconds(0.2)));
  }
}

Status GuestProcess::type(std::string_view text) {
  while (!text.empty()) {
    ssize_t n = write(in_.get(), text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(fmt::format("cannot type into the guest console: {}", strerror(errno)));
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok_status();
}

Status GuestProcess::wait_for_shell(Seconds timeout) {
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
  static const std::regex kSync("@@vmkit-sync-[0-9]+\n");
  for (;;) {
    // The quotes keep the shell's echo of the typed line from matching.
    TRY(type(fmt::format("echo '@@vmkit'-sync-{}\n", ++sequence_)));
    Seconds left(deadline - Clock::now());
    auto r = wait_for(kSync, std::min(left, Seconds(2)));
    if (r.ok()) return ok_status();
    if (exit_status_ || Clock::now() >= deadline) {
      return fail(fmt::format("the guest's shell did not answer within {:.0f}s", timeout.count()));
    }
  }
}

Result<GuestProcess::CommandOutput> GuestProcess::run(std::string_view command, Seconds timeout) {
  unsigned n = ++sequence_;
  // One line, so the shell echoes all of it before running it; the subshell turns a syntax error
  // in `command` into a status instead of losing the rest of the line with the end marker.
  TRY(type(fmt::format("echo '@@vmkit'-begin-{0}; (eval {1}); echo '@@vmkit'-end-{0}-$?\n", n,
                       sh_quote(std::string(command)))));
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
  TRY(wait_for_text(fmt::format("@@vmkit-begin-{}\n", n), timeout));
  std::size_t output_start = cursor_;
  auto end = wait_for(std::regex(fmt::format("@@vmkit-end-{}-([0-9]+)\n", n)),
                      std::max(Seconds(deadline - Clock::now()), Seconds(0)));
  if (!end.ok()) {
    return Error(fmt::format("command `{}`: {}", command, end.error().message()));
  }
  CommandOutput result;
  result.output = console_.substr(output_start, last_match_start_ - output_start);
  result.status = std::stoi(end.value()[1]);
  return result;
}

Result<std::string> GuestProcess::run_ok(std::string_view command, Seconds timeout) {
  auto r = TRY(run(command, timeout));
  if (r.status != 0) {
    failure_kind_ = FailureKind::kReal;
    failure_reason_ = "a guest command failed";
    return Error(fmt::format("{}: guest command `{}` exited {}; its output:\n{}", name_, command,
                             r.status, indent(r.output)));
  }
  return r.output;
}

Result<ExitStatus> GuestProcess::wait_exit(Seconds timeout) {
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
  for (;;) {
    pump(Seconds(0));
    if (exit_status_) {
      // Drain what is left in the pipes (bounded: a grandchild may hold them open).
      auto drain_until = Clock::now() + std::chrono::milliseconds(200);
      while ((out_ || err_) && Clock::now() < drain_until) pump(Seconds(0.05));
      return *exit_status_;
    }
    auto now = Clock::now();
    if (now >= deadline) {
      return fail(fmt::format("the monitor did not exit within {:.0f}s", timeout.count()));
    }
    pump(std::min<Seconds>(Seconds(deadline - now), Seconds(0.1)));
  }
}

Status GuestProcess::send_signal(int sig) {
  if (exit_status_) return Error(fmt::format("{} already exited", name_));
  if (kill(pid_, sig) != 0) return Error::from_errno(fmt::format("kill {}", pid_));
  return ok_status();
}

}  // namespace vmkit::guest_test
