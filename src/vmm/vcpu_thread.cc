#include "vmm/vcpu_thread.h"

#include <signal.h>

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "base/log.h"
#include "vmm/exit_handler.h"

namespace vmkit {
namespace {
int kick_signal() {
  return SIGRTMIN;
}
void kick_handler(int) {}
}  // namespace

void VcpuThread::install_kick_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = kick_handler;  // no SA_RESTART: KVM_RUN returns EINTR
    sigemptyset(&sa.sa_mask);
    ::sigaction(kick_signal(), &sa, nullptr);
  });
}

VcpuThread::VcpuThread(KvmVcpu vcpu, const Bus& pio, const Bus& mmio, VmEvents& events)
    : vcpu_(std::move(vcpu)), pio_(pio), mmio_(mmio), events_(events) {}

VcpuThread::~VcpuThread() {
  stop();
}

void VcpuThread::start() {
  install_kick_handler();
  std::lock_guard lock(mutex_);
  if (state_ != State::kCreated) return;
  state_ = State::kRunning;
  thread_ = std::thread([this] { run(); });
}

VcpuThread::State VcpuThread::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

void VcpuThread::kick() {
  vcpu_.set_immediate_exit(true);
  if (thread_.joinable()) ::pthread_kill(thread_.native_handle(), kick_signal());
}

void VcpuThread::pause() {
  std::unique_lock lock(mutex_);
  if (state_ != State::kRunning) return;
  state_ = State::kPaused;
  kick();
  cv_.wait(lock, [&] { return parked_ || state_ == State::kExited; });
}

void VcpuThread::resume() {
  std::lock_guard lock(mutex_);
  if (state_ != State::kPaused) return;
  state_ = State::kRunning;
  cv_.notify_all();
}

void VcpuThread::stop() {
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::kCreated) {
      state_ = State::kExited;
      return;
    }
    if (state_ != State::kExited) state_ = State::kStopping;
    kick();
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void VcpuThread::run() {
  // Signals for the process (SIGTERM, SIGINT, ...) go to the main thread's signalfd.
  count_exits_ = log::level() == log::Level::kDebug;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      while (state_ == State::kPaused) {
        parked_ = true;
        cv_.notify_all();
        cv_.wait(lock);
      }
      parked_ = false;
      if (state_ == State::kStopping || state_ == State::kExited) break;
      vcpu_.set_immediate_exit(false);
    }
    auto exit = vcpu_.run();
    if (!exit.ok()) {
      events_.report(VmEvent::kError, exit.error().message());
      break;
    }
    if (count_exits_) count_exit(*exit);
    ExitResult result = handle_exit(*exit, pio_, mmio_);
    if (result.stop) {
      std::string message = result.message;
      if (*result.stop == VmEvent::kError) {
        message += "\n" + vcpu_.dump_registers();
      }
      events_.report(*result.stop, message);
      break;
    }
  }
  if (count_exits_) log_exit_counts();
  std::lock_guard lock(mutex_);
  state_ = State::kExited;
  cv_.notify_all();
}

void VcpuThread::count_exit(const VcpuExit& exit) {
  std::string key;
  if (auto* in = std::get_if<ExitIoIn>(&exit)) {
    key = fmt::format("pio in  {:#06x}", in->port);
  } else if (auto* out = std::get_if<ExitIoOut>(&exit)) {
    key = fmt::format("pio out {:#06x}", out->port);
  } else if (auto* r = std::get_if<ExitMmioRead>(&exit)) {
    key = fmt::format("mmio rd {:#x}", r->address & ~0xfffull);
  } else if (auto* w = std::get_if<ExitMmioWrite>(&exit)) {
    key = fmt::format("mmio wr {:#x}", w->address & ~0xfffull);
  } else {
    key = describe_exit(exit);
  }
  ++exit_counts_[key];
}

void VcpuThread::log_exit_counts() const {
  std::vector<std::pair<std::string, uint64_t>> sorted(exit_counts_.begin(), exit_counts_.end());
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.second > b.second; });
  uint64_t total = 0;
  for (auto& [k, n] : sorted) total += n;
  std::string text = fmt::format("vCPU {}: {} exits to userspace", vcpu_.id(), total);
  for (size_t i = 0; i < sorted.size() && i < 12; ++i) {
    text += fmt::format("; {} x{}", sorted[i].first, sorted[i].second);
  }
  LOG_DEBUG("{}", text);
}

}  // namespace vmkit
