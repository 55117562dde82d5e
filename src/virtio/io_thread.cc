#include "virtio/io_thread.h"

#include <pthread.h>

#include "base/log.h"

namespace vmkit {

Result<std::unique_ptr<IoThread>> IoThread::create(std::string name) {
  auto loop = TRY(EventLoop::create());
  return std::unique_ptr<IoThread>(new IoThread(std::move(name), std::move(loop)));
}

void IoThread::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    std::string short_name = name_.substr(0, 15);
    pthread_setname_np(pthread_self(), short_name.c_str());
    Status status = loop_->run();
    if (!status.ok()) LOG_ERROR("{}: event loop failed: {}", name_, status.error().message());
  });
}

void IoThread::stop() {
  if (!thread_.joinable()) return;
  loop_->stop();
  thread_.join();
}

}  // namespace vmkit
