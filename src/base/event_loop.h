// An epoll loop over file descriptors. One loop is driven by one thread; handlers may be added
// and removed from other threads (the loop is woken), and stop() may be called from anywhere.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "base/event_fd.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace vmkit {

class EventLoop {
 public:
  // Called with the epoll event mask that fired.
  using Handler = std::function<void(uint32_t events)>;

  static Result<std::unique_ptr<EventLoop>> create();

  Status add(int fd, uint32_t events, Handler handler);
  Status modify(int fd, uint32_t events);
  void remove(int fd);

  // Runs handlers until stop(). Returns the error if epoll itself fails.
  Status run();
  // Waits once for up to timeout_ms (-1: forever) and dispatches what fired.
  Status run_once(int timeout_ms);
  void stop();
  bool stopped() const { return stopped_; }

 private:
  EventLoop(UniqueFd epoll, EventFd wake) : epoll_(std::move(epoll)), wake_(std::move(wake)) {}

  UniqueFd epoll_;
  EventFd wake_;
  std::mutex mutex_;  // guards handlers_
  std::unordered_map<int, std::shared_ptr<Handler>> handlers_;
  std::atomic<bool> stopped_{false};
};

}  // namespace vmkit
