// virtio-rng (virtio 1.2, 5.4, "entropy device"): one request queue whose device-writable
// buffers the device fills with random bytes from the host (getrandom(2)), so the guest gets
// /dev/hwrng. No features, no configuration space.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>

#include "base/result.h"
#include "virtio/io_thread.h"
#include "virtio/virtio_device.h"

namespace vmkit {

class RngDevice final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 64;
  // At most this many bytes per request: a guest cannot make one request drain the host's
  // entropy source for long.
  static constexpr size_t kMaxBytesPerRequest = 64 * 1024;

  // Fills the whole span or fails. The default reads getrandom(2).
  using Source = std::function<Status(std::span<uint8_t>)>;

  explicit RngDevice(Source source = {});
  ~RngDevice() override { reset(); }

  uint32_t device_type() const override;
  std::vector<uint16_t> queue_max_sizes() const override { return {kQueueSize}; }
  uint64_t device_features() const override { return 0; }
  size_t config_size() const override { return 0; }
  void read_config(uint64_t, std::span<uint8_t>) override {}
  Status activate(VirtioActivation activation) override;
  void reset() override;

  // The default source.
  static Status getrandom_source(std::span<uint8_t> out);

 private:
  void process();

  Source source_;
  std::unique_ptr<IoThread> thread_;
  // Valid while active (owned by the thread).
  std::optional<ActiveQueue> queue_;
  const GuestMemory* memory_ = nullptr;
  VirtioInterrupt* interrupt_ = nullptr;
  DescriptorChain chain_;
  bool failed_ = false;
};

}  // namespace vmkit
