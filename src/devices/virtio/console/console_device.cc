#include "devices/virtio/console/console_device.h"

#include <cstring>

#include "virtio/virtio_spec.h"

namespace vmkit {

uint32_t ConsoleDevice::device_type() const {
  return virtio::kDeviceConsole;
}

void ConsoleDevice::read_config(uint64_t offset, std::span<uint8_t> data) {
  Config config{0, 0, 1, 0};
  // SAFETY: the packed config struct viewed as bytes; the transport clamps the range.
  std::memcpy(data.data(), reinterpret_cast<const uint8_t*>(&config) + offset, data.size());
}

Status ConsoleDevice::activate(VirtioActivation activation) {
  reset();
  std::optional<ActiveQueue> rx, tx;
  for (ActiveQueue& q : activation.queues) {
    if (q.index == 0) rx.emplace(std::move(q));
    if (q.index == 1) tx.emplace(std::move(q));
  }
  thread_ = TRY(IoThread::create("virtio-console"));
  port_ = std::make_unique<ConsolePort>("hvc0", backend_, thread_->loop(), *activation.memory,
                                        *activation.interrupt, std::move(rx), std::move(tx));
  Status started = port_->start();
  if (!started.ok()) {
    reset();
    return started;
  }
  thread_->start();
  return {};
}

void ConsoleDevice::reset() {
  if (thread_) thread_->stop();
  port_.reset();  // unregisters from the (stopped) loop
  thread_.reset();
}

}  // namespace vmkit
