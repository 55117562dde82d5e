#include "base/event_loop.h"

#include <sys/epoll.h>

#include <array>
#include <string>

namespace vmkit {

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return Error::from_errno("epoll_create1");
  UniqueFd epoll(fd);
  EventFd wake = TRY(EventFd::create());
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake.fd();
  if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake.fd(), &ev) < 0) {
    return Error::from_errno("epoll_ctl add wake fd");
  }
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll), std::move(wake)));
}

Status EventLoop::add(int fd, uint32_t events, Handler handler) {
  {
    std::lock_guard lock(mutex_);
    handlers_[fd] = std::make_shared<Handler>(std::move(handler));
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) {
    int err = errno;
    std::lock_guard lock(mutex_);
    handlers_.erase(fd);
    return Error::from_errno("epoll_ctl add fd " + std::to_string(fd), err);
  }
  return {};
}

Status EventLoop::modify(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) < 0) {
    return Error::from_errno("epoll_ctl mod fd " + std::to_string(fd));
  }
  return {};
}

void EventLoop::remove(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  std::lock_guard lock(mutex_);
  handlers_.erase(fd);
}

Status EventLoop::run_once(int timeout_ms) {
  std::array<epoll_event, 32> events{};
  int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return {};
    return Error::from_errno("epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    int fd = events[static_cast<size_t>(i)].data.fd;
    if (fd == wake_.fd()) {
      wake_.consume();
      continue;
    }
    std::shared_ptr<Handler> handler;
    {
      std::lock_guard lock(mutex_);
      auto it = handlers_.find(fd);
      if (it == handlers_.end()) continue;  // removed by an earlier handler in this batch
      handler = it->second;
    }
    (*handler)(events[static_cast<size_t>(i)].events);
  }
  return {};
}

Status EventLoop::run() {
  while (!stopped_.load()) {
    TRY(run_once(-1));
  }
  return {};
}

void EventLoop::stop() {
  stopped_.store(true);
  (void)wake_.signal();
}

}  // namespace vmkit
