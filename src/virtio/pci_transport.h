// The virtio-pci modern transport (virtio 1.2, 4.1): a PCI function with one 64-bit memory BAR
// holding the common configuration, ISR, device configuration, notification and MSI-X
// structures, and the vendor capabilities that point at them (plus VIRTIO_PCI_CAP_PCI_CFG).
// It owns the device status state machine (reset, FEATURES_OK, DRIVER_OK, NEEDS_RESET),
// feature negotiation, queue configuration, one notification eventfd per queue (registered as
// an ioeventfd when the platform offers it) and interrupt delivery (MSI-X, else INTx + ISR).
// It knows nothing about the device behind it.
//
// Threads: vCPU threads access the BAR and configuration space; device threads call the
// VirtioInterrupt methods, which touch only atomics and the MSI-X capability (never mu_).
// Lock order: PciRoot -> mu_ -> MsixCapability; ioevent_mu_ is a leaf.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/event_fd.h"
#include "base/result.h"
#include "memory/guest_memory.h"
#include "pci/interrupt.h"
#include "pci/ioevent.h"
#include "pci/msix.h"
#include "pci/pci_device.h"
#include "virtio/virtio_device.h"

namespace vmkit {

struct VirtioPciPlatform {
  const GuestMemory* memory = nullptr;   // required; outlives the device
  MsiController* msi = nullptr;          // null: no MSI-X capability (INTx only)
  IoEventRegistrar* ioevents = nullptr;  // null: notifications go through the MMIO bus
};

class VirtioPciDevice final : public PciDevice, private VirtioInterrupt {
 public:
  // The BAR and the layout inside it.
  static constexpr unsigned kBar = 0;
  static constexpr uint64_t kBarSize = 0x8000;
  static constexpr uint64_t kCommonOffset = 0x0000;
  static constexpr uint64_t kCommonSize = 0x40;
  static constexpr uint64_t kIsrOffset = 0x1000;
  static constexpr uint64_t kDeviceConfigOffset = 0x2000;
  static constexpr uint64_t kDeviceConfigMax = 0x1000;
  static constexpr uint64_t kNotifyOffset = 0x3000;
  static constexpr uint32_t kNotifyMultiplier = 4;
  static constexpr uint64_t kMsixTableOffset = 0x4000;
  static constexpr uint64_t kMsixPbaOffset = 0x6000;
  static constexpr size_t kMaxQueues = 511;  // MSI-X table: queues + config <= 512 vectors

  static Result<std::shared_ptr<VirtioPciDevice>> create(std::unique_ptr<VirtioDevice> device,
                                                         const VirtioPciPlatform& platform);
  ~VirtioPciDevice() override;

  VirtioDevice& device() { return *device_; }
  // A virtio device reset, as if the driver wrote 0 to the status (e.g. before the VM is torn
  // down: stops the device's threads). On VM reboot use PciRoot::reset(), which also resets
  // the PCI function (configuration space, MSI-X).
  void reset();

  // Introspection (tests, the vmm's diagnostics).
  uint8_t status() const;
  size_t num_queues() const { return max_sizes_.size(); }
  const EventFd& queue_event(uint16_t queue) const { return events_[queue]; }
  std::optional<uint64_t> notify_address(uint16_t queue) const;
  bool msix_enabled() const { return msix_ && msix_->enabled(); }

  void bar_read(unsigned index, uint64_t offset, std::span<uint8_t> data) override;
  void bar_write(unsigned index, uint64_t offset, std::span<const uint8_t> data) override;

 private:
  struct QueueState {
    uint16_t size = 0;
    bool enabled = false;
    uint64_t desc = 0, driver = 0, device = 0;
  };

  VirtioPciDevice(const PciIds& ids, std::unique_ptr<VirtioDevice> device,
                  const VirtioPciPlatform& platform, std::vector<EventFd> events);
  Status install_capabilities(std::unique_ptr<MsiVectorGroup> vectors);

  // PciDevice hooks.
  void config_written(uint16_t offset, size_t len) override;
  void config_reading(uint16_t offset, std::span<uint8_t> data) override;
  void bar_mapped(unsigned index, uint64_t address) override;
  void bar_unmapped(unsigned index, uint64_t address) override;
  void function_reset() override;

  // VirtioInterrupt (device threads).
  void signal_used(uint16_t index) override;
  void signal_config_change() override;
  void signal_device_error() override;
  void raise(uint16_t vector, uint8_t isr_bit);

  // Common configuration (pci_common_config.cc), mu_ held.
  void common_snapshot(uint8_t out[kCommonSize]) const;
  void common_read(uint64_t offset, std::span<uint8_t> data);
  void common_write(uint64_t offset, std::span<const uint8_t> data);
  void write_field(uint64_t field, uint64_t value);
  void write_status(uint8_t value);
  void activate();
  void reset_locked();
  uint16_t checked_vector(uint16_t vector) const;
  QueueState* selected_queue();

  void notify_write(uint64_t offset);
  void isr_read(std::span<uint8_t> data);

  std::unique_ptr<VirtioDevice> device_;
  const GuestMemory& memory_;
  IoEventRegistrar* ioevents_;
  const std::vector<uint16_t> max_sizes_;
  const uint64_t offered_features_;
  const size_t config_size_;
  std::vector<EventFd> events_;  // one per queue, alive as long as the transport
  std::unique_ptr<MsixCapability> msix_;
  uint8_t pci_cfg_cap_ = 0;  // offset of the VIRTIO_PCI_CAP_PCI_CFG capability

  // Read by device threads.
  std::atomic<uint8_t> isr_{0};
  std::atomic<uint8_t> config_generation_{0};
  std::atomic<bool> needs_reset_{false};
  std::atomic<uint16_t> config_vector_{0xffff};
  std::unique_ptr<std::atomic<uint16_t>[]> queue_vectors_;

  mutable std::mutex mu_;  // guards the driver-visible state below
  uint8_t status_ = 0;
  bool activated_ = false;
  uint32_t device_feature_select_ = 0;
  uint32_t driver_feature_select_ = 0;
  uint64_t driver_features_ = 0;
  uint16_t queue_select_ = 0;
  std::vector<QueueState> queues_;

  std::mutex ioevent_mu_;             // guards registered_
  std::vector<uint64_t> registered_;  // notify addresses registered with ioevents_, per queue
};

}  // namespace vmkit
