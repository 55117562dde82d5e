// virtio-console (virtio 1.2, 5.3) with one port: the guest's /dev/hvc0, usable as
// `console=hvc0`. The host side is a pair of fds given by the creator (a pty, stdio, a pipe,
// a socket). Queue 0 is the port's receive queue (host -> guest), queue 1 its transmit queue.
//
// Multiport (VIRTIO_CONSOLE_F_MULTIPORT) is the way to add named channels such as the
// qemu-guest-agent's "org.qemu.guest_agent.0": it adds the control queues 2 and 3 and one
// queue pair per further port (4 + 2(n-1), 5 + 2(n-1)), each port served by a ConsolePort
// on this device's thread; the control queues carry the DEVICE_READY / DEVICE_ADD /
// PORT_READY / CONSOLE_PORT / PORT_NAME / PORT_OPEN handshake. Not offered yet.
#pragma once

#include <memory>

#include "base/result.h"
#include "devices/virtio/console/console_port.h"
#include "virtio/io_thread.h"
#include "virtio/virtio_device.h"

namespace vmkit {

class ConsoleDevice final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 128;

#pragma pack(push, 1)
  struct Config {
    uint16_t cols;
    uint16_t rows;
    uint32_t max_nr_ports;
    uint32_t emerg_wr;
  };
#pragma pack(pop)

  // The fds are borrowed: they must stay open while the device exists.
  explicit ConsoleDevice(ConsoleBackend backend) : backend_(backend) {}
  ~ConsoleDevice() override {
    reset();
  }

  uint32_t device_type() const override;
  std::vector<uint16_t> queue_max_sizes() const override {
    return {kQueueSize, kQueueSize};
  }
  uint64_t device_features() const override {
    return 0;
  }
  size_t config_size() const override {
    return sizeof(Config);
  }
  void read_config(uint64_t offset, std::span<uint8_t> data) override;
  Status activate(VirtioActivation activation) override;
  void reset() override;

 private:
  ConsoleBackend backend_;
  std::unique_ptr<IoThread> thread_;
  std::unique_ptr<ConsolePort> port_;
};

}  // namespace vmkit
