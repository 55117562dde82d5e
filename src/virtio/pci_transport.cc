#include "virtio/pci_transport.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "base/checked.h"
#include "base/log.h"
#include "virtio/virtio_spec.h"

namespace vmkit {
namespace {

constexpr uint64_t kTransportFeatures =
    virtio::kFeatureVersion1 | virtio::kFeatureEventIdx | virtio::kFeatureIndirectDesc;

uint32_t class_code_for(uint32_t type) {
  switch (type) {
    case virtio::kDeviceNet:
      return 0x020000;  // network controller
    case virtio::kDeviceBlock:
      return 0x010000;  // mass storage (SCSI), as other VMMs report virtio-blk
    case virtio::kDeviceConsole:
      return 0x078000;  // simple communication controller, other
    default:
      return 0xff0000;  // unassigned class
  }
}

// struct virtio_pci_cap (16 bytes) + optional extra bytes.
std::vector<uint8_t> virtio_cap(uint8_t cfg_type, uint8_t bar, uint32_t offset, uint32_t length,
                                size_t extra) {
  std::vector<uint8_t> cap(16 + extra, 0);
  cap[0] = pci::kCapVendorSpecific;
  cap[2] = static_cast<uint8_t>(cap.size());
  cap[3] = cfg_type;
  cap[4] = bar;
  std::memcpy(&cap[8], &offset, 4);
  std::memcpy(&cap[12], &length, 4);
  return cap;
}

bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) {
  return a < b + blen && b < a + alen;
}

}  // namespace

Result<std::shared_ptr<VirtioPciDevice>> VirtioPciDevice::create(
    std::unique_ptr<VirtioDevice> device, const VirtioPciPlatform& platform) {
  if (!device || !platform.memory) return Error("virtio-pci: no device or no guest memory");
  std::vector<uint16_t> sizes = device->queue_max_sizes();
  if (sizes.empty() || sizes.size() > kMaxQueues) {
    return Error(
        fmt::format("virtio-pci: {} queues (1 to {} supported)", sizes.size(), kMaxQueues));
  }
  for (uint16_t s : sizes) {
    if (!is_power_of_two(s) || s > virtio::kMaxQueueSize) {
      return Error(fmt::format("virtio-pci: queue size {} is not a power of two", s));
    }
  }
  if (device->config_size() > kDeviceConfigMax) {
    return Error(
        fmt::format("virtio-pci: device config of {} bytes is too large", device->config_size()));
  }
  std::vector<EventFd> events;
  for (size_t i = 0; i < sizes.size(); ++i) events.push_back(TRY(EventFd::create()));
  std::unique_ptr<MsiVectorGroup> vectors;
  if (platform.msi) {
    vectors = TRY(platform.msi->allocate(static_cast<uint16_t>(sizes.size() + 1)));
  }
  uint32_t type = device->device_type();
  PciIds ids{.vendor = virtio::kPciVendorId,
             .device = static_cast<uint16_t>(virtio::kPciDeviceIdBase + type),
             .subsystem_vendor = virtio::kPciVendorId,
             .subsystem = 0x1100,
             .revision = 1,
             .class_code = class_code_for(type)};
  auto transport = std::shared_ptr<VirtioPciDevice>(
      new VirtioPciDevice(ids, std::move(device), platform, std::move(events)));
  TRY(transport->install_capabilities(std::move(vectors)));
  return transport;
}

VirtioPciDevice::VirtioPciDevice(const PciIds& ids, std::unique_ptr<VirtioDevice> device,
                                 const VirtioPciPlatform& platform, std::vector<EventFd> events)
    : PciDevice(ids),
      device_(std::move(device)),
      memory_(*platform.memory),
      ioevents_(platform.ioevents),
      max_sizes_(device_->queue_max_sizes()),
      offered_features_(device_->device_features() | kTransportFeatures),
      config_size_(device_->config_size()),
      events_(std::move(events)),
      queue_vectors_(new std::atomic<uint16_t>[max_sizes_.size()]),
      queues_(max_sizes_.size()),
      registered_(max_sizes_.size(), 0) {
  std::lock_guard lock(mu_);
  reset_locked();
}

VirtioPciDevice::~VirtioPciDevice() {
  device_->reset();
}

Status VirtioPciDevice::install_capabilities(std::unique_ptr<MsiVectorGroup> vectors) {
  TRY(add_bar(kBar, BarSpec{kBarSize, BarType::kMemory64, false}));
  auto& cfg = config();
  TRY(cfg.add_capability(
      virtio_cap(virtio::kPciCapCommonCfg, kBar, kCommonOffset, kCommonSize, 0)));
  auto notify = virtio_cap(virtio::kPciCapNotifyCfg, kBar, kNotifyOffset,
                           static_cast<uint32_t>(num_queues() * kNotifyMultiplier), 4);
  std::memcpy(&notify[16], &kNotifyMultiplier, 4);
  TRY(cfg.add_capability(notify));
  TRY(cfg.add_capability(virtio_cap(virtio::kPciCapIsrCfg, kBar, kIsrOffset, 1, 0)));
  if (config_size_ > 0) {
    TRY(cfg.add_capability(virtio_cap(virtio::kPciCapDeviceCfg, kBar, kDeviceConfigOffset,
                                      static_cast<uint32_t>(config_size_), 0)));
  }
  // VIRTIO_PCI_CAP_PCI_CFG: bar, offset, length and the data window are guest-writable.
  std::vector<uint8_t> writable(20, 0);
  writable[4] = 0xff;
  std::fill(writable.begin() + 8, writable.end(), 0xff);
  pci_cfg_cap_ = TRY(cfg.add_capability(virtio_cap(virtio::kPciCapPciCfg, 0, 0, 0, 4), writable));
  if (vectors) {
    msix_ = std::make_unique<MsixCapability>(static_cast<uint16_t>(num_queues() + 1),
                                             std::move(vectors));
    TRY(msix_->install(cfg, kBar, static_cast<uint32_t>(kMsixTableOffset),
                       static_cast<uint32_t>(kMsixPbaOffset)));
  }
  return {};
}

uint8_t VirtioPciDevice::status() const {
  std::lock_guard lock(mu_);
  return static_cast<uint8_t>(status_ | (needs_reset_.load() ? virtio::kStatusNeedsReset : 0));
}

void VirtioPciDevice::reset() {
  std::lock_guard lock(mu_);
  reset_locked();
}

std::optional<uint64_t> VirtioPciDevice::notify_address(uint16_t queue) const {
  auto base = bar_mapped_at(kBar);
  if (!base || queue >= num_queues()) return std::nullopt;
  return *base + kNotifyOffset + uint64_t{queue} * kNotifyMultiplier;
}

// --- BAR accesses (vCPU threads) ---

void VirtioPciDevice::bar_read(unsigned index, uint64_t offset, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);
  if (index != kBar) return;
  uint64_t len = data.size();
  if (range_within(offset, len, kCommonSize)) {
    std::lock_guard lock(mu_);
    common_read(offset - kCommonOffset, data);
  } else if (offset == kIsrOffset) {
    isr_read(data);
  } else if (offset >= kDeviceConfigOffset &&
             range_within(offset - kDeviceConfigOffset, len, kDeviceConfigMax)) {
    uint64_t at = offset - kDeviceConfigOffset;
    if (at < config_size_) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(len, config_size_ - at));
      std::lock_guard lock(mu_);
      device_->read_config(at, data.first(n));
    }
  } else if (msix_ && offset >= kMsixTableOffset &&
             range_within(offset - kMsixTableOffset, len, msix_->table_bytes())) {
    msix_->table_read(offset - kMsixTableOffset, data);
  } else if (msix_ && offset >= kMsixPbaOffset &&
             range_within(offset - kMsixPbaOffset, len, msix_->pba_bytes())) {
    msix_->pba_read(offset - kMsixPbaOffset, data);
  }
}

void VirtioPciDevice::bar_write(unsigned index, uint64_t offset, std::span<const uint8_t> data) {
  if (index != kBar) return;
  uint64_t len = data.size();
  if (range_within(offset, len, kCommonSize)) {
    std::lock_guard lock(mu_);
    common_write(offset - kCommonOffset, data);
  } else if (offset >= kNotifyOffset &&
             range_within(offset - kNotifyOffset, len, num_queues() * kNotifyMultiplier)) {
    notify_write(offset - kNotifyOffset);
  } else if (offset >= kDeviceConfigOffset &&
             range_within(offset - kDeviceConfigOffset, len, kDeviceConfigMax)) {
    uint64_t at = offset - kDeviceConfigOffset;
    if (at < config_size_) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(len, config_size_ - at));
      std::lock_guard lock(mu_);
      device_->write_config(at, data.first(n));
    }
  } else if (msix_ && offset >= kMsixTableOffset &&
             range_within(offset - kMsixTableOffset, len, msix_->table_bytes())) {
    msix_->table_write(offset - kMsixTableOffset, data);
  }
}

void VirtioPciDevice::notify_write(uint64_t offset) {
  // The MMIO path of a notification (no ioeventfd): same eventfd, same effect. A queue that is
  // not enabled has no listener; the count is dropped at reset.
  uint64_t queue = offset / kNotifyMultiplier;
  (void)events_[queue].signal();
}

void VirtioPciDevice::isr_read(std::span<uint8_t> data) {
  uint8_t value = isr_.exchange(0);
  if (!data.empty()) data[0] = value;
  if (value) set_intx(false);
}

// --- Configuration space hooks (PciRoot lock held) ---

void VirtioPciDevice::config_written(uint16_t offset, size_t len) {
  if (msix_) msix_->config_written(config(), offset, len);
  if (!overlaps(offset, len, pci_cfg_cap_ + 16u, 4)) return;
  // VIRTIO_PCI_CAP_PCI_CFG data written: forward it to the BAR.
  uint8_t bar = config().read8(pci_cfg_cap_ + 4u);
  uint32_t at = config().read32(pci_cfg_cap_ + 8u);
  uint32_t length = config().read32(pci_cfg_cap_ + 12u);
  if (bar != kBar || (length != 1 && length != 2 && length != 4) || at % length ||
      !range_within(at, length, kBarSize)) {
    LOG_GUEST_ERROR("virtio-pci: pci_cfg access bar {} offset {:#x} length {} refused", bar, at,
                    length);
    return;
  }
  uint8_t bytes[4];
  config().read(pci_cfg_cap_ + 16u, std::span(bytes, 4));
  bar_write(bar, at, std::span<const uint8_t>(bytes, length));
}

void VirtioPciDevice::config_reading(uint16_t offset, std::span<uint8_t> data) {
  uint16_t window = static_cast<uint16_t>(pci_cfg_cap_ + 16u);
  if (!overlaps(offset, data.size(), window, 4)) return;
  uint8_t bar = config().read8(pci_cfg_cap_ + 4u);
  uint32_t at = config().read32(pci_cfg_cap_ + 8u);
  uint32_t length = config().read32(pci_cfg_cap_ + 12u);
  uint8_t bytes[4] = {};
  if (bar == kBar && (length == 1 || length == 2 || length == 4) && at % length == 0 &&
      range_within(at, length, kBarSize)) {
    bar_read(bar, at, std::span(bytes, length));
  }
  for (size_t i = 0; i < data.size(); ++i) {
    size_t reg = offset + i;
    if (reg >= window && reg < window + 4u) data[i] = bytes[reg - window];
  }
}

void VirtioPciDevice::bar_mapped(unsigned index, uint64_t address) {
  if (index != kBar || !ioevents_) return;
  std::lock_guard lock(ioevent_mu_);
  for (uint16_t q = 0; q < num_queues(); ++q) {
    uint64_t at = address + kNotifyOffset + uint64_t{q} * kNotifyMultiplier;
    Status status = ioevents_->register_ioevent(at, events_[q]);
    if (!status.ok()) {
      LOG_WARN("virtio-pci: ioeventfd at {:#x}: {} (notifications go through the bus)", at,
               status.error().message());
      continue;
    }
    registered_[q] = at;
  }
}

void VirtioPciDevice::bar_unmapped(unsigned index, uint64_t) {
  if (index != kBar || !ioevents_) return;
  std::lock_guard lock(ioevent_mu_);
  for (uint16_t q = 0; q < num_queues(); ++q) {
    if (registered_[q] == 0) continue;
    ioevents_->unregister_ioevent(registered_[q], events_[q]);
    registered_[q] = 0;
  }
}

void VirtioPciDevice::function_reset() {
  reset();
  if (msix_) msix_->reset();
}

// --- Interrupts (device threads) ---

void VirtioPciDevice::raise(uint16_t vector, uint8_t isr_bit) {
  if (msix_ && msix_->enabled()) {
    if (vector != virtio::kMsiNoVector) msix_->notify(vector);
    return;
  }
  isr_.fetch_or(isr_bit);
  set_intx(true);
}

void VirtioPciDevice::signal_used(uint16_t index) {
  if (index >= num_queues()) return;
  raise(queue_vectors_[index].load(std::memory_order_relaxed), virtio::kIsrQueue);
}

void VirtioPciDevice::signal_config_change() {
  config_generation_.fetch_add(1);
  raise(config_vector_.load(std::memory_order_relaxed), virtio::kIsrConfig);
}

void VirtioPciDevice::signal_device_error() {
  if (needs_reset_.exchange(true)) return;
  LOG_GUEST_ERROR("virtio-pci: device {:#x} needs a reset", device_->device_type());
  raise(config_vector_.load(std::memory_order_relaxed), virtio::kIsrConfig);
}

}  // namespace vmkit
