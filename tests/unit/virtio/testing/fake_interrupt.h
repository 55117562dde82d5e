// A VirtioInterrupt that records what a device signalled, for device tests that activate a
// device directly (without the PCI transport). An eventfd is signalled on every call so that
// threaded tests can wait for the device.
#pragma once

#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

#include "base/event_fd.h"
#include "virtio/virtio_device.h"

namespace vmkit::testing {

class FakeInterrupt final : public VirtioInterrupt {
 public:
  FakeInterrupt() : event_(EventFd::create().value()) {}
  void signal_used(uint16_t index) override {
    if (index < 64) used[index].fetch_add(1);
    (void)event_.signal();
  }
  void signal_config_change() override {
    config_changes.fetch_add(1);
    (void)event_.signal();
  }
  void signal_device_error() override {
    device_errors.fetch_add(1);
    (void)event_.signal();
  }

  // Waits until `done()` holds, re-checking on every signal; false after `timeout`.
  bool wait_until(const std::function<bool()>& done,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{event_.fd(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 50)));
      event_.consume();
    }
    return true;
  }

  std::atomic<int> used[64] = {};
  std::atomic<int> config_changes{0};
  std::atomic<int> device_errors{0};

 private:
  EventFd event_;
};

}  // namespace vmkit::testing
