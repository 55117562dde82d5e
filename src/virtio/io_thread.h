// A thread running an EventLoop: the I/O thread of a virtio device (or of one of its queues).
// Handlers are added to loop() before start() or from inside handlers; stop() ends the loop
// and joins the thread, after which the handlers' state may be torn down.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "base/event_loop.h"
#include "base/result.h"

namespace vmkit {

class IoThread {
 public:
  // `name` is the thread's name for ps/top (truncated to 15 bytes).
  static Result<std::unique_ptr<IoThread>> create(std::string name);
  ~IoThread() { stop(); }
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  EventLoop& loop() { return *loop_; }
  void start();
  // Idempotent; must not be called from the thread itself.
  void stop();
  bool running() const { return thread_.joinable(); }

 private:
  IoThread(std::string name, std::unique_ptr<EventLoop> loop)
      : name_(std::move(name)), loop_(std::move(loop)) {}

  std::string name_;
  std::unique_ptr<EventLoop> loop_;
  std::thread thread_;
};

}  // namespace vmkit
