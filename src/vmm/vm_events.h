// How vCPU threads and devices tell the main thread that the VM must stop: the first event
// wins and wakes the main loop through an eventfd.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "base/event_fd.h"

namespace vmkit {

enum class VmEvent {
  kPoweroff,  // ACPI S5, or a halted CPU with nothing to wake it
  kReset,     // i8042 reset, KVM system reset
  kError,     // triple fault, KVM internal error, failed entry: message says which
};

class VmEvents {
 public:
  explicit VmEvents(EventFd wake) : wake_(std::move(wake)) {}

  void report(VmEvent event, std::string message = {}) {
    {
      std::lock_guard lock(mutex_);
      if (event_) return;
      event_ = event;
      message_ = std::move(message);
    }
    (void)wake_.signal();
  }
  std::optional<VmEvent> event() const {
    std::lock_guard lock(mutex_);
    return event_;
  }
  std::string message() const {
    std::lock_guard lock(mutex_);
    return message_;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    event_.reset();
    message_.clear();
    wake_.consume();
  }
  int fd() const { return wake_.fd(); }

 private:
  EventFd wake_;
  mutable std::mutex mutex_;  // guards event_ and message_
  std::optional<VmEvent> event_;
  std::string message_;
};

}  // namespace vmkit
