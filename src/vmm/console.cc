#include "vmm/console.h"

#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

#include "base/file.h"
#include "base/log.h"
#include "base/unique_fd.h"

namespace vmkit {

EscapeFilter::Output EscapeFilter::feed(std::span<const uint8_t> bytes) {
  Output out;
  for (uint8_t b : bytes) {
    if (escape_pending_) {
      escape_pending_ = false;
      if (b == 'x' || b == 'X') {
        out.quit = true;
        return out;
      }
      if (b == 'h' || b == 'H' || b == '?') {
        out.help = true;
        continue;
      }
      if (b == kEscape) {
        out.to_guest.push_back(static_cast<char>(kEscape));
        continue;
      }
      out.to_guest.push_back(static_cast<char>(b));  // unknown: pass it on
      continue;
    }
    if (b == kEscape) {
      escape_pending_ = true;
      continue;
    }
    out.to_guest.push_back(static_cast<char>(b));
  }
  return out;
}

namespace {

// Terminal state saved when stdio goes raw; restored at exit, on fatal signals and in the
// destructor, whichever comes first.
struct SavedTerminal {
  bool active = false;
  struct termios original {};
};
SavedTerminal g_saved_terminal;

void restore_terminal() {
  if (g_saved_terminal.active) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_terminal.original);
    g_saved_terminal.active = false;
  }
}

void fatal_signal_handler(int sig) {
  restore_terminal();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_terminal_restore() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  std::atexit(restore_terminal);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT}) {
    struct sigaction sa {};
    sa.sa_handler = fatal_signal_handler;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
  }
}

// Reads what is available from `fd`; returns 0 at EOF, -1 when nothing is there.
ssize_t read_some(int fd, uint8_t* buf, size_t len) {
  for (;;) {
    ssize_t n = ::read(fd, buf, len);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    return -1;
  }
}

// A console reading one fd with EPOLLIN and writing to another.
class FdConsole : public Console {
 public:
  FdConsole(int in_fd, int out_fd, bool drop_when_full)
      : in_fd_(in_fd), out_fd_(out_fd), drop_when_full_(drop_when_full) {}

  Status attach(EventLoop& loop, InputHandler on_input, std::function<void()> on_quit) override {
    loop_ = &loop;
    on_input_ = std::move(on_input);
    on_quit_ = std::move(on_quit);
    if (in_fd_ < 0) return {};
    auto added = loop.add(in_fd_, EPOLLIN, [this](uint32_t events) { on_readable(events); });
    if (!added.ok() && added.error().sys_errno() == EPERM) {
      eof_ = true;  // a regular file or /dev/null: nothing to poll, no input
      return {};
    }
    return added;
  }

  void set_input_enabled(bool enabled) override {
    if (loop_ && in_fd_ >= 0 && !eof_)
      (void)loop_->modify(in_fd_, enabled ? uint32_t{EPOLLIN} : 0u);
  }

  void write(std::span<const uint8_t> data) override {
    if (out_fd_ < 0) return;
    if (!drop_when_full_) {
      (void)write_all(out_fd_, data);
      return;
    }
    ssize_t n = ::write(out_fd_, data.data(), data.size());
    (void)n;  // a reader that does not keep up loses output (no flow control on this backend)
  }

 protected:
  virtual void handle_input(std::span<const uint8_t> bytes) { on_input_(bytes); }

  void on_readable(uint32_t) {
    uint8_t buf[4096];
    ssize_t n = read_some(in_fd_, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EIO)) {
      // End of input (e.g. stdin from /dev/null): stop polling, keep the guest running.
      eof_ = true;
      loop_->remove(in_fd_);
      return;
    }
    if (n > 0) handle_input(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
  }

  int in_fd_;
  int out_fd_;
  bool drop_when_full_;
  bool eof_ = false;
  EventLoop* loop_ = nullptr;
  InputHandler on_input_;
  std::function<void()> on_quit_;
};

class StdioConsole : public FdConsole {
 public:
  StdioConsole() : FdConsole(STDIN_FILENO, STDOUT_FILENO, false) {
    if (::isatty(STDIN_FILENO)) {
      interactive_ = true;
      struct termios t {};
      if (::tcgetattr(STDIN_FILENO, &t) == 0) {
        install_terminal_restore();
        g_saved_terminal.original = t;
        g_saved_terminal.active = true;
        cfmakeraw(&t);
        t.c_oflag |= OPOST | ONLCR;  // keep vmkit's own messages readable
        ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
      }
    }
  }
  ~StdioConsole() override { restore_terminal(); }

 protected:
  void handle_input(std::span<const uint8_t> bytes) override {
    if (!interactive_) {
      on_input_(bytes);
      return;
    }
    auto out = escape_.feed(bytes);
    if (out.help) {
      LOG_INFO("console escapes: Ctrl-A x quit, Ctrl-A Ctrl-A send Ctrl-A, Ctrl-A h help");
    }
    if (!out.to_guest.empty()) {
      on_input_(std::span(reinterpret_cast<const uint8_t*>(out.to_guest.data()),  // SAFETY: bytes
                          out.to_guest.size()));
    }
    if (out.quit && on_quit_) on_quit_();
  }

 private:
  bool interactive_ = false;
  EscapeFilter escape_;
};

class PtyConsole : public FdConsole {
 public:
  PtyConsole(UniqueFd master, UniqueFd slave)
      : FdConsole(master.get(), master.get(), true),
        master_(std::move(master)),
        slave_(std::move(slave)) {}

 private:
  UniqueFd master_;
  UniqueFd slave_;  // kept open so the master never reads EIO while nobody is attached
};

class FileConsole : public FdConsole {
 public:
  explicit FileConsole(UniqueFd file) : FdConsole(-1, file.get(), false), file_(std::move(file)) {}

 private:
  UniqueFd file_;
};

// A unix socket server: one client at a time (a new one replaces the old); the last 64 KiB of
// output are replayed to a client when it connects. Output the client cannot take at once waits
// for it (up to kMaxPending bytes, then the oldest is dropped): a client that keeps up on average
// but is descheduled for a moment loses nothing.
class UnixConsole : public Console {
 public:
  static constexpr size_t kHistory = 64 * 1024;
  static constexpr size_t kMaxPending = 1024 * 1024;

  UnixConsole(UniqueFd listener, std::string path)
      : listener_(std::move(listener)), path_(std::move(path)) {}
  ~UnixConsole() override {
    if (loop_) {
      loop_->remove(listener_.get());
      if (client_.valid()) loop_->remove(client_.get());
    }
    ::unlink(path_.c_str());
  }

  Status attach(EventLoop& loop, InputHandler on_input, std::function<void()>) override {
    loop_ = &loop;
    on_input_ = std::move(on_input);
    return loop.add(listener_.get(), EPOLLIN, [this](uint32_t) { accept_client(); });
  }

  void set_input_enabled(bool enabled) override {
    std::lock_guard lock(mutex_);
    input_enabled_ = enabled;
    update_client_events();
  }

  void write(std::span<const uint8_t> data) override {
    std::lock_guard lock(mutex_);
    history_.insert(history_.end(), data.begin(), data.end());
    if (history_.size() > kHistory) {
      history_.erase(history_.begin(),
                     history_.begin() + static_cast<long>(history_.size() - kHistory));
    }
    if (!client_.valid()) return;
    if (pending_.empty()) {
      ssize_t n = ::send(client_.get(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      size_t sent = n > 0 ? static_cast<size_t>(n) : 0;
      if (sent == data.size()) return;
      data = data.subspan(sent);
    }
    pending_.insert(pending_.end(), data.begin(), data.end());
    if (pending_.size() > kMaxPending) {
      size_t drop = pending_.size() - kMaxPending;
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(drop));
      if (!dropping_) {
        LOG_WARN("console client on {} does not read: dropping the oldest output", path_);
        dropping_ = true;  // once until it catches up
      }
    }
    update_client_events();
  }

 private:
  // The client's epoll events: input unless paused, and EPOLLOUT while output waits.
  void update_client_events() {
    if (!client_.valid() || loop_ == nullptr) return;
    uint32_t events =
        (input_enabled_ ? uint32_t{EPOLLIN} : 0u) | (pending_.empty() ? 0u : uint32_t{EPOLLOUT});
    if (events != client_events_) {
      (void)loop_->modify(client_.get(), events);
      client_events_ = events;
    }
  }

  // Sends what waits for the client, as far as it takes it.
  void flush_pending() {
    while (!pending_.empty() && client_.valid()) {
      uint8_t buf[16 * 1024];
      size_t len = std::min(pending_.size(), sizeof(buf));
      std::copy_n(pending_.begin(), len, buf);
      ssize_t n = ::send(client_.get(), buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // full again (EPOLLOUT stays on), or the client is gone (EPOLLHUP)
      pending_.erase(pending_.begin(), pending_.begin() + n);
    }
    if (pending_.empty()) dropping_ = false;
    update_client_events();
  }

  void accept_client() {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    std::lock_guard lock(mutex_);
    if (client_.valid()) loop_->remove(client_.get());
    client_.reset(fd);
    pending_.assign(history_.begin(), history_.end());
    client_events_ = input_enabled_ ? uint32_t{EPOLLIN} : 0u;
    (void)loop_->add(fd, client_events_, [this, fd](uint32_t events) { on_client(fd, events); });
    flush_pending();
  }

  void on_client(int fd, uint32_t events) {
    if (events & EPOLLOUT) {
      std::lock_guard lock(mutex_);
      if (client_.get() == fd) flush_pending();
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_client(fd);
  }

  void read_client(int fd) {
    uint8_t buf[4096];
    ssize_t n = read_some(fd, buf, sizeof(buf));
    if (n > 0) {
      on_input_(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
      return;
    }
    if (n < 0 && errno == EAGAIN) return;
    std::lock_guard lock(mutex_);
    if (client_.get() == fd) {
      loop_->remove(fd);
      client_.reset();
      pending_.clear();
    }
  }

  UniqueFd listener_;
  std::string path_;
  EventLoop* loop_ = nullptr;
  InputHandler on_input_;
  std::mutex mutex_;  // guards client_, history_, pending_, input_enabled_, client_events_
  UniqueFd client_;
  std::deque<uint8_t> history_;
  std::deque<uint8_t> pending_;  // output the current client has not taken yet
  bool input_enabled_ = true;
  bool dropping_ = false;
  uint32_t client_events_ = 0;
};

Result<std::unique_ptr<Console>> create_pty() {
  int master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) < 0)
    return Error::from_errno("openpty");
  UniqueFd m(master), s(slave);
  struct termios t {};
  if (::tcgetattr(slave, &t) == 0) {
    cfmakeraw(&t);
    ::tcsetattr(slave, TCSANOW, &t);
  }
  ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
  ::fcntl(master, F_SETFD, FD_CLOEXEC);
  ::fcntl(slave, F_SETFD, FD_CLOEXEC);
  LOG_INFO("serial console on {}", ::ptsname(master));
  return std::unique_ptr<Console>(new PtyConsole(std::move(m), std::move(s)));
}

Result<std::unique_ptr<Console>> create_unix(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path))
    return Error("console socket path is too long: " + path);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    return Error("console socket " + path + " already exists");
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Error::from_errno("socket");
  UniqueFd sock(fd);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  // SAFETY: sockaddr_un is passed as the generic sockaddr the API takes.
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    return Error::from_errno("console socket " + path);
  }
  if (::listen(fd, 1) < 0) {
    ::unlink(path.c_str());
    return Error::from_errno("listen on " + path);
  }
  LOG_INFO("serial console on unix socket {}", path);
  return std::unique_ptr<Console>(new UnixConsole(std::move(sock), path));
}

class NullConsole : public Console {
 public:
  Status attach(EventLoop&, InputHandler, std::function<void()>) override { return {}; }
  void set_input_enabled(bool) override {}
  void write(std::span<const uint8_t>) override {}
};

}  // namespace

Result<std::unique_ptr<Console>> Console::create(const ConsoleSpec& spec) {
  switch (spec.kind) {
    case ConsoleSpec::Kind::kStdio:
      return std::unique_ptr<Console>(new StdioConsole());
    case ConsoleSpec::Kind::kPty:
      return create_pty();
    case ConsoleSpec::Kind::kFile: {
      auto fd = open_file(spec.path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (!fd.ok()) return fd.error().context("console file");
      return std::unique_ptr<Console>(new FileConsole(std::move(fd).value()));
    }
    case ConsoleSpec::Kind::kUnix:
      return create_unix(spec.path);
    case ConsoleSpec::Kind::kNone:
      return std::unique_ptr<Console>(new NullConsole());
  }
  return Error("unknown console kind");
}

}  // namespace vmkit
