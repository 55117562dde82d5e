// What a virtio device implements, independent of the transport (virtio-pci today). The
// transport owns the status state machine, feature negotiation, queue configuration, the
// notification eventfds and interrupts; the device owns its configuration space and what it
// does with its queues once the driver is ready.
//
// Lifecycle: activate() when the driver sets DRIVER_OK (on the vCPU thread that wrote the
// status), reset() when the driver writes 0 to the status or the VM resets. After reset()
// returns, the device holds no queue, no guest address or pointer, and runs no thread that
// touches guest memory; it may be activated again.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/event_fd.h"
#include "base/result.h"
#include "memory/guest_memory.h"
#include "virtio/virtqueue.h"

namespace vmkit {

// The transport's side of a running device. Safe to call from any device thread; never blocks
// on the transport's locks.
class VirtioInterrupt {
 public:
  virtual ~VirtioInterrupt() = default;
  // Used buffer notification for queue `index` (the device has already consulted
  // VirtQueue::needs_interrupt()).
  virtual void signal_used(uint16_t index) = 0;
  // The device configuration changed (bumps config_generation, config interrupt).
  virtual void signal_config_change() = 0;
  // The device hit an error it cannot recover from (a broken ring, a failed backend): sets
  // DEVICE_NEEDS_RESET and notifies the driver.
  virtual void signal_device_error() = 0;
};

// One enabled queue handed to the device at activation.
struct ActiveQueue {
  uint16_t index = 0;
  VirtQueue queue;
  // Signalled when the driver notifies this queue (KVM ioeventfd or the transport's MMIO path).
  // Owned by the transport; valid until reset() returns.
  const EventFd* notify = nullptr;
};

struct VirtioActivation {
  const GuestMemory* memory = nullptr;
  VirtioInterrupt* interrupt = nullptr;
  uint64_t features = 0;            // negotiated
  std::vector<ActiveQueue> queues;  // the enabled ones, ascending index
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  virtual uint32_t device_type() const = 0;
  // Maximum size of each queue; the count is the number of queues.
  virtual std::vector<uint16_t> queue_max_sizes() const = 0;
  // Device-specific feature bits offered (the transport adds VERSION_1, EVENT_IDX and
  // INDIRECT_DESC).
  virtual uint64_t device_features() const = 0;
  // The driver set FEATURES_OK with `features` (a subset of what was offered). Return false to
  // refuse the combination (FEATURES_OK then stays clear).
  virtual bool accept_features(uint64_t /*features*/) { return true; }

  // Device configuration space. The transport clamps accesses to [0, config_size()).
  virtual size_t config_size() const = 0;
  virtual void read_config(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void write_config(uint64_t /*offset*/, std::span<const uint8_t> /*data*/) {}

  // Starts serving the queues. On error the transport sets DEVICE_NEEDS_RESET.
  virtual Status activate(VirtioActivation activation) = 0;
  // Stops every thread and drops every queue and guest reference (see above).
  virtual void reset() = 0;
};

}  // namespace vmkit
