// A non-blocking eventfd: the wakeup primitive between vCPUs, device threads and KVM
// (ioeventfd/irqfd).
#pragma once

#include <cstdint>

#include "base/result.h"
#include "base/unique_fd.h"

namespace vmkit {

class EventFd {
 public:
  static Result<EventFd> create(unsigned flags = 0);

  int fd() const { return fd_.get(); }
  // Adds 1 to the counter (wakes a waiter).
  Status signal() const;
  // Reads and clears the counter; returns 0 if it was not signalled.
  uint64_t consume() const;

 private:
  explicit EventFd(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace vmkit
