#include "vmm/runner.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <deque>
#include <optional>

#include "base/event_loop.h"
#include "base/file.h"
#include "base/log.h"
#include "kvm/kvm.h"
#include "vmm/console.h"
#include "vmm/exit_handler.h"
#include "vmm/pvm_watchdog.h"
#include "vmm/vm.h"

namespace vmkit {
namespace {

// Blocks the lifecycle signals in every thread (vCPU threads inherit the mask) so they are read
// from a signalfd on the main thread only.
Result<UniqueFd> block_lifecycle_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return Error("pthread_sigmask failed");
  int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return Error::from_errno("signalfd");
  return UniqueFd(fd);
}

// Typed input waits here while the guest's UART FIFO is full.
class InputPump {
 public:
  explicit InputPump(Console& console) : console_(console) {}
  void set_serial(Serial* serial) { serial_ = serial; }

  void feed(std::span<const uint8_t> bytes) {
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
    flush();
  }
  void flush() {
    if (!serial_) return;
    while (!pending_.empty()) {
      uint8_t chunk[256];
      size_t n = std::min(pending_.size(), sizeof(chunk));
      std::copy_n(pending_.begin(), n, chunk);
      size_t taken = serial_->receive(std::span<const uint8_t>(chunk, n));
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(taken));
      if (taken < n) break;
    }
    console_.set_input_enabled(pending_.empty());
  }

 private:
  Console& console_;
  Serial* serial_ = nullptr;
  std::deque<uint8_t> pending_;
};

enum class Outcome { kPoweroff, kReset, kError, kQuit, kShutdownTimeout };

}  // namespace

int run_vm(const VmConfig& config) {
  // Writes to a peer that went away (slirp's host sockets, a console client) must fail with
  // EPIPE, not kill the monitor.
  ::signal(SIGPIPE, SIG_IGN);
  auto fail = [](const Error& e) {
    LOG_ERROR("{}", e.message());
    return kExitError;
  };
  auto kvm = Kvm::open();
  if (!kvm.ok()) return fail(kvm.error());
  auto signals = block_lifecycle_signals();
  if (!signals.ok()) return fail(signals.error());
  auto loop_result = EventLoop::create();
  if (!loop_result.ok()) return fail(loop_result.error());
  EventLoop& loop = **loop_result;
  auto wake = EventFd::create();
  auto rx_space = EventFd::create();
  auto timer_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (!wake.ok() || !rx_space.ok() || timer_fd < 0) return fail(Error("cannot create eventfds"));
  UniqueFd timer(timer_fd);
  int watchdog_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (watchdog_fd < 0) return fail(Error::from_errno("timerfd_create"));
  UniqueFd watchdog_timer(watchdog_fd);
  std::unique_ptr<PvmWatchdog> watchdog;
  constexpr double kWatchdogPeriodS = 0.5;
  VmEvents events(std::move(*wake));

  auto console_result = Console::create(config.console);
  if (!console_result.ok()) return fail(console_result.error());
  Console& console = **console_result;
  InputPump pump(console);

  // hvc0: the virtio console device gets one end of a socket pair (kept across reboots); the
  // other end is relayed to its host console here.
  std::unique_ptr<Console> hvc_console;
  UniqueFd hvc_guest_end, hvc_host_end;
  if (config.virtio_console.kind != ConsoleSpec::Kind::kNone) {
    auto created = Console::create(config.virtio_console);
    if (!created.ok()) return fail(created.error().context("--virtio-console"));
    hvc_console = std::move(*created);
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0) {
      return fail(Error::from_errno("socketpair"));
    }
    hvc_guest_end.reset(pair[0]);
    hvc_host_end.reset(pair[1]);
  }

  std::optional<Outcome> outcome;
  std::unique_ptr<Vm> vm;
  bool shutdown_requested = false;

  auto status = console.attach(
      loop, [&](std::span<const uint8_t> bytes) { pump.feed(bytes); },
      [&] {
        LOG_INFO("quit requested from the console");
        outcome = Outcome::kQuit;
      });
  if (!status.ok()) return fail(status.error());
  if (hvc_console) {
    int host_end = hvc_host_end.get();
    status = hvc_console->attach(
        loop, [host_end](std::span<const uint8_t> bytes) { (void)write_all(host_end, bytes); },
        [&] { outcome = Outcome::kQuit; });
    if (!status.ok()) return fail(status.error());
    status = loop.add(host_end, EPOLLIN, [&, host_end](uint32_t) {
      uint8_t buf[4096];
      ssize_t n = ::read(host_end, buf, sizeof(buf));
      if (n > 0) hvc_console->write(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
    });
    if (!status.ok()) return fail(status.error());
  }
  status = loop.add(rx_space->fd(), EPOLLIN, [&](uint32_t) {
    rx_space->consume();
    pump.flush();
  });
  if (!status.ok()) return fail(status.error());
  status = loop.add(events.fd(), EPOLLIN, [&](uint32_t) {
    auto ev = events.event();
    if (!ev) return;
    switch (*ev) {
      case VmEvent::kPoweroff:
        outcome = Outcome::kPoweroff;
        break;
      case VmEvent::kReset:
        outcome = Outcome::kReset;
        break;
      case VmEvent::kError:
        outcome = Outcome::kError;
        break;
    }
  });
  if (!status.ok()) return fail(status.error());
  status = loop.add(signals->get(), EPOLLIN, [&](uint32_t) {
    signalfd_siginfo info{};
    while (::read(signals->get(), &info, sizeof(info)) == sizeof(info)) {
      if (shutdown_requested) {
        LOG_INFO("second signal: stopping the guest now");
        outcome = Outcome::kShutdownTimeout;
        return;
      }
      shutdown_requested = true;
      LOG_INFO("signal {}: pressing the ACPI power button (guest has {}s to shut down)",
               info.ssi_signo, config.shutdown_timeout_s);
      if (vm) vm->press_power_button();
      itimerspec spec{};
      spec.it_value.tv_sec = static_cast<time_t>(config.shutdown_timeout_s);
      ::timerfd_settime(timer.get(), 0, &spec, nullptr);
    }
  });
  if (!status.ok()) return fail(status.error());
  status = loop.add(timer.get(), EPOLLIN, [&](uint32_t) {
    LOG_WARN("the guest did not shut down within {}s; stopping it", config.shutdown_timeout_s);
    outcome = Outcome::kShutdownTimeout;
  });
  if (!status.ok()) return fail(status.error());

  if (host_is_pvm()) {
    status = loop.add(watchdog_timer.get(), EPOLLIN, [&](uint32_t) {
      uint64_t ticks = 0;
      ssize_t n = ::read(watchdog_timer.get(), &ticks, sizeof(ticks));
      (void)n;
      if (!watchdog) return;
      if (auto verdict = watchdog->check(kWatchdogPeriodS))
        events.report(VmEvent::kError, *verdict);
    });
    if (!status.ok()) return fail(status.error());
    itimerspec period{};
    period.it_value.tv_nsec = period.it_interval.tv_nsec = 500'000'000;
    ::timerfd_settime(watchdog_timer.get(), 0, &period, nullptr);
  }

  for (;;) {
    VmHostEnd host;
    host.serial_console = &console;
    host.events = &events;
    host.on_serial_rx_space = [&] { (void)rx_space->signal(); };
    host.virtio_console_fd = hvc_guest_end.get();
    auto created = Vm::create(*kvm, config, host);
    if (!created.ok()) return fail(created.error());
    vm = std::move(*created);
    pump.set_serial(&vm->serial());
    if (host_is_pvm()) watchdog = std::make_unique<PvmWatchdog>(vm->vcpu_fds());
    if (auto s = vm->start(); !s.ok()) return fail(s.error());

    outcome.reset();
    while (!outcome) {
      if (auto s = loop.run_once(-1); !s.ok()) return fail(s.error());
    }
    vm->stop();
    watchdog.reset();
    pump.set_serial(nullptr);
    std::string message = events.message();
    events.clear();
    vm.reset();

    switch (*outcome) {
      case Outcome::kPoweroff:
        return kExitPoweroff;
      case Outcome::kQuit:
        return kExitPoweroff;
      case Outcome::kShutdownTimeout:
        return kExitShutdownTimeout;
      case Outcome::kError:
        LOG_ERROR("{}", message);
        return kExitError;
      case Outcome::kReset:
        if (config.no_reboot) {
          LOG_INFO("guest rebooted; exiting (--no-reboot)");
          return kExitRebootRequested;
        }
        if (shutdown_requested) return kExitPoweroff;  // rebooting while asked to stop: stop
        LOG_INFO("guest rebooted; restarting it");
        break;
    }
  }
}

}  // namespace vmkit
