#include "devices/virtio/rng/rng_device.h"

#include <sys/epoll.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>

#include "base/log.h"
#include "virtio/virtio_spec.h"

namespace vmkit {

RngDevice::RngDevice(Source source)
    : source_(source ? std::move(source) : Source(&RngDevice::getrandom_source)) {}

uint32_t RngDevice::device_type() const {
  return virtio::kDeviceEntropy;
}

Status RngDevice::getrandom_source(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("getrandom");
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Status RngDevice::activate(VirtioActivation activation) {
  reset();
  if (activation.queues.empty()) return {};  // the driver enabled no queue: nothing to serve
  memory_ = activation.memory;
  interrupt_ = activation.interrupt;
  queue_.emplace(std::move(activation.queues.front()));
  failed_ = false;
  thread_ = TRY(IoThread::create("virtio-rng"));
  TRY(thread_->loop().add(queue_->notify->fd(), EPOLLIN, [this](uint32_t) { process(); }));
  thread_->start();
  return queue_->notify->signal();  // buffers may already be waiting
}

void RngDevice::reset() {
  if (thread_) thread_->stop();
  thread_.reset();
  queue_.reset();
  memory_ = nullptr;
  interrupt_ = nullptr;
}

void RngDevice::process() {
  queue_->notify->consume();
  if (failed_) return;
  bool used = false;
  while (true) {
    auto popped = queue_->queue.pop(chain_);
    if (!popped.ok()) {
      failed_ = true;
      LOG_GUEST_ERROR("virtio-rng: {}", popped.error().message());
      interrupt_->signal_device_error();
      break;
    }
    if (!*popped) {
      auto more = queue_->queue.enable_notification();
      if (more.ok() && *more) continue;
      break;
    }
    // Fill the device-writable buffers in place, up to the per-request cap.
    size_t budget = kMaxBytesPerRequest;
    uint32_t written = 0;
    for (const Descriptor& d : chain_.writable()) {
      if (budget == 0) break;
      size_t n = std::min<size_t>(d.len, budget);
      auto bytes = memory_->span(d.addr, n);  // inside RAM: checked at pop
      if (!bytes.ok()) break;
      Status filled = source_(*bytes);
      if (!filled.ok()) {
        LOG_ERROR("virtio-rng: {}", filled.error().message());
        break;
      }
      written += static_cast<uint32_t>(n);
      budget -= n;
    }
    if (!queue_->queue.add_used(chain_.head(), written).ok()) break;
    used = true;
  }
  if (used && queue_->queue.needs_interrupt()) interrupt_->signal_used(queue_->index);
}

}  // namespace vmkit
