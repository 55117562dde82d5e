// The common configuration structure of the virtio-pci transport (struct
// virtio_pci_common_cfg) and the device status state machine. Every function here runs with
// mu_ held.
#include <cstring>

#include "base/checked.h"
#include "base/log.h"
#include "virtio/pci_transport.h"
#include "virtio/virtio_spec.h"

namespace vmkit {
namespace {

// Field offsets in struct virtio_pci_common_cfg.
constexpr uint64_t kDeviceFeatureSelect = 0x00;
constexpr uint64_t kDeviceFeature = 0x04;
constexpr uint64_t kDriverFeatureSelect = 0x08;
constexpr uint64_t kDriverFeature = 0x0c;
constexpr uint64_t kConfigMsixVector = 0x10;
constexpr uint64_t kNumQueues = 0x12;
constexpr uint64_t kDeviceStatus = 0x14;
constexpr uint64_t kConfigGeneration = 0x15;
constexpr uint64_t kQueueSelect = 0x16;
constexpr uint64_t kQueueSize = 0x18;
constexpr uint64_t kQueueMsixVector = 0x1a;
constexpr uint64_t kQueueEnable = 0x1c;
constexpr uint64_t kQueueNotifyOff = 0x1e;
constexpr uint64_t kQueueDesc = 0x20;
constexpr uint64_t kQueueDriver = 0x28;
constexpr uint64_t kQueueDevice = 0x30;

struct Field {
  uint64_t offset;
  uint64_t size;
};
constexpr Field kFields[] = {{kDeviceFeatureSelect, 4},
                             {kDeviceFeature, 4},
                             {kDriverFeatureSelect, 4},
                             {kDriverFeature, 4},
                             {kConfigMsixVector, 2},
                             {kNumQueues, 2},
                             {kDeviceStatus, 1},
                             {kConfigGeneration, 1},
                             {kQueueSelect, 2},
                             {kQueueSize, 2},
                             {kQueueMsixVector, 2},
                             {kQueueEnable, 2},
                             {kQueueNotifyOff, 2},
                             {kQueueDesc, 8},
                             {kQueueDriver, 8},
                             {kQueueDevice, 8},
                             {0x38, 2},
                             {0x3a, 2},
                             {0x3c, 2},
                             {0x3e, 2}};

template <typename T>
void put(uint8_t* out, uint64_t offset, T value) {
  std::memcpy(out + offset, &value, sizeof(T));
}

uint32_t feature_word(uint64_t features, uint32_t select) {
  return select < 2 ? static_cast<uint32_t>(features >> (32 * select)) : 0;
}

}  // namespace

VirtioPciDevice::QueueState* VirtioPciDevice::selected_queue() {
  return queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
}

uint16_t VirtioPciDevice::checked_vector(uint16_t vector) const {
  // A vector outside the table cannot be mapped: report NO_VECTOR (4.1.5.1.2).
  if (!msix_ || vector >= msix_->vectors()) return virtio::kMsiNoVector;
  return vector;
}

void VirtioPciDevice::common_snapshot(uint8_t out[kCommonSize]) const {
  std::memset(out, 0, kCommonSize);
  put<uint32_t>(out, kDeviceFeatureSelect, device_feature_select_);
  put<uint32_t>(out, kDeviceFeature, feature_word(offered_features_, device_feature_select_));
  put<uint32_t>(out, kDriverFeatureSelect, driver_feature_select_);
  put<uint32_t>(out, kDriverFeature, feature_word(driver_features_, driver_feature_select_));
  put<uint16_t>(out, kConfigMsixVector, config_vector_.load());
  put<uint16_t>(out, kNumQueues, static_cast<uint16_t>(queues_.size()));
  put<uint8_t>(out, kDeviceStatus,
               static_cast<uint8_t>(status_ | (needs_reset_ ? virtio::kStatusNeedsReset : 0)));
  put<uint8_t>(out, kConfigGeneration, config_generation_.load());
  put<uint16_t>(out, kQueueSelect, queue_select_);
  if (queue_select_ < queues_.size()) {
    const QueueState& q = queues_[queue_select_];
    put<uint16_t>(out, kQueueSize, q.size);
    put<uint16_t>(out, kQueueMsixVector, queue_vectors_[queue_select_].load());
    put<uint16_t>(out, kQueueEnable, q.enabled ? 1 : 0);
    put<uint16_t>(out, kQueueNotifyOff, queue_select_);
    put<uint64_t>(out, kQueueDesc, q.desc);
    put<uint64_t>(out, kQueueDriver, q.driver);
    put<uint64_t>(out, kQueueDevice, q.device);
  }
}

void VirtioPciDevice::common_read(uint64_t offset, std::span<uint8_t> data) {
  uint8_t snapshot[kCommonSize];
  common_snapshot(snapshot);
  std::memcpy(data.data(), snapshot + offset, data.size());
}

void VirtioPciDevice::common_write(uint64_t offset, std::span<const uint8_t> data) {
  // Any width is accepted: merge the bytes into each field they touch, then apply the field.
  uint8_t bytes[kCommonSize];
  common_snapshot(bytes);
  std::memcpy(bytes + offset, data.data(), data.size());
  for (const Field& f : kFields) {
    if (f.offset >= offset + data.size() || f.offset + f.size <= offset) continue;
    uint64_t value = 0;
    std::memcpy(&value, bytes + f.offset, f.size);
    write_field(f.offset, value);
  }
}

void VirtioPciDevice::write_field(uint64_t field, uint64_t value) {
  bool features_locked = (status_ & virtio::kStatusFeaturesOk) != 0;
  bool running = (status_ & virtio::kStatusDriverOk) != 0;
  QueueState* q = selected_queue();
  // Queue layout changes are only possible while the queue is off and the device not running.
  bool queue_writable = q && !q->enabled && !running;
  switch (field) {
    case kDeviceFeatureSelect:
      device_feature_select_ = static_cast<uint32_t>(value);
      break;
    case kDriverFeatureSelect:
      driver_feature_select_ = static_cast<uint32_t>(value);
      break;
    case kDriverFeature:
      if (features_locked || driver_feature_select_ >= 2) break;
      {
        uint64_t shift = 32ull * driver_feature_select_;
        uint64_t mask = uint64_t{0xffffffff} << shift;
        driver_features_ = (driver_features_ & ~mask) | ((value << shift) & mask);
      }
      break;
    case kConfigMsixVector:
      config_vector_.store(checked_vector(static_cast<uint16_t>(value)));
      break;
    case kDeviceStatus:
      write_status(static_cast<uint8_t>(value));
      break;
    case kQueueSelect:
      queue_select_ = static_cast<uint16_t>(value);
      break;
    case kQueueSize:
      // Validated at DRIVER_OK (power of two, within the maximum).
      if (queue_writable) q->size = static_cast<uint16_t>(value);
      break;
    case kQueueMsixVector:
      if (q) queue_vectors_[queue_select_].store(checked_vector(static_cast<uint16_t>(value)));
      break;
    case kQueueEnable:
      // Writing 0 is forbidden to the driver; ignore it.
      if (queue_writable && value == 1) q->enabled = true;
      break;
    case kQueueDesc:
      if (queue_writable) q->desc = value;
      break;
    case kQueueDriver:
      if (queue_writable) q->driver = value;
      break;
    case kQueueDevice:
      if (queue_writable) q->device = value;
      break;
    default:  // read-only fields
      break;
  }
}

void VirtioPciDevice::write_status(uint8_t value) {
  if (value == 0) {
    reset_locked();
    return;
  }
  // Bits are only ever added by the driver; NEEDS_RESET is the device's own.
  uint8_t added = static_cast<uint8_t>(value & ~status_ & ~virtio::kStatusNeedsReset);
  if (added & virtio::kStatusFeaturesOk) {
    bool subset = (driver_features_ & ~offered_features_) == 0;
    bool modern = (driver_features_ & virtio::kFeatureVersion1) != 0;
    if (!subset || !modern || (status_ & virtio::kStatusDriverOk) ||
        !device_->accept_features(driver_features_)) {
      LOG_GUEST_ERROR("virtio-pci: features {:#x} refused (offered {:#x})", driver_features_,
                      offered_features_);
      added = static_cast<uint8_t>(added & ~virtio::kStatusFeaturesOk);
    }
  }
  status_ = static_cast<uint8_t>(status_ | added);
  if ((added & virtio::kStatusDriverOk) && !activated_) activate();
}

void VirtioPciDevice::activate() {
  if (!(status_ & virtio::kStatusFeaturesOk)) {
    LOG_GUEST_ERROR("virtio-pci: DRIVER_OK without FEATURES_OK");
    signal_device_error();
    return;
  }
  VirtioActivation activation;
  activation.memory = &memory_;
  activation.interrupt = this;
  activation.features = driver_features_;
  for (uint16_t i = 0; i < queues_.size(); ++i) {
    const QueueState& q = queues_[i];
    if (!q.enabled) continue;
    QueueLayout layout{q.size, GuestAddress(q.desc), GuestAddress(q.driver),
                       GuestAddress(q.device)};
    auto queue = VirtQueue::create(memory_, layout, max_sizes_[i], driver_features_);
    if (!queue.ok()) {
      LOG_GUEST_ERROR("virtio-pci: queue {}: {}", i, queue.error().message());
      signal_device_error();
      return;
    }
    activation.queues.push_back(ActiveQueue{i, std::move(queue).value(), &events_[i]});
  }
  Status status = device_->activate(std::move(activation));
  activated_ = true;  // reset() must run even if activation failed half-way
  if (!status.ok()) {
    LOG_ERROR("virtio-pci: activating device {:#x}: {}", device_->device_type(),
              status.error().message());
    signal_device_error();
  }
}

void VirtioPciDevice::reset_locked() {
  device_->reset();
  activated_ = false;
  status_ = 0;
  needs_reset_ = false;
  device_feature_select_ = driver_feature_select_ = 0;
  driver_features_ = 0;
  queue_select_ = 0;
  config_vector_ = virtio::kMsiNoVector;
  for (size_t i = 0; i < queues_.size(); ++i) {
    queues_[i] = QueueState{max_sizes_[i], false, 0, 0, 0};
    queue_vectors_[i] = virtio::kMsiNoVector;
    events_[i].consume();  // stale notifications belong to the old driver
  }
  if (isr_.exchange(0)) set_intx(false);
}

}  // namespace vmkit
