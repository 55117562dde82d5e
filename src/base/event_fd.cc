#include "base/event_fd.h"

#include <sys/eventfd.h>
#include <unistd.h>

namespace vmkit {

Result<EventFd> EventFd::create(unsigned flags) {
  int fd = ::eventfd(0, static_cast<int>(flags) | EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return Error::from_errno("eventfd");
  return EventFd(UniqueFd(fd));
}

Status EventFd::signal() const {
  uint64_t one = 1;
  if (::write(fd_.get(), &one, sizeof(one)) != sizeof(one)) {
    if (errno == EAGAIN) return {};  // counter saturated: the waiter wakes anyway
    return Error::from_errno("eventfd write");
  }
  return {};
}

uint64_t EventFd::consume() const {
  uint64_t value = 0;
  if (::read(fd_.get(), &value, sizeof(value)) != sizeof(value)) return 0;
  return value;
}

}  // namespace vmkit
