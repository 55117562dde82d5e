// A guest driver for the virtio-pci transport, doing what Linux's virtio_pci_modern does:
// capability walk in configuration space, memory decoding and MSI-X on, the 1.x status and
// feature handshake, queue setup and notifications through MMIO on the bus. Used by tests
// that run a device end to end through the transport.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <span>

#include "bus/bus.h"
#include "pci/pci_config.h"
#include "pci/pci_root.h"
#include "virtio/virtio_spec.h"
#include "virtio/virtqueue.h"

namespace vmkit::testing {

class VirtioPciTestDriver {
 public:
  VirtioPciTestDriver(PciRoot& root, Bus& mmio, uint8_t slot)
      : root_(root), mmio_(mmio), slot_(slot) {
    cfg_write(pci::kCommand, pci::kCommandMemory | pci::kCommandBusMaster, 2);
    bar_ = (uint64_t{cfg_read(0x14)} << 32) | (cfg_read(0x10) & ~0xfu);
    for (uint8_t at = static_cast<uint8_t>(cfg_read(pci::kCapabilityPointer, 1)); at;
         at = static_cast<uint8_t>(cfg_read(at + 1u, 1))) {
      uint8_t id = static_cast<uint8_t>(cfg_read(at, 1));
      if (id == pci::kCapMsix) msix_cap_ = at;
      if (id != pci::kCapVendorSpecific) continue;
      uint8_t type = static_cast<uint8_t>(cfg_read(at + 3u, 1));
      if (!offsets_.count(type)) offsets_[type] = cfg_read(at + 8u);
    }
  }

  uint32_t cfg_read(uint16_t reg, size_t len = 4) {
    uint8_t b[4] = {};
    root_.config_read(0, slot_, 0, reg, std::span(b, len));
    uint32_t v = 0;
    std::memcpy(&v, b, len);
    return v;
  }
  void cfg_write(uint16_t reg, uint32_t v, size_t len = 4) {
    root_.config_write(0, slot_, 0, reg, std::span(reinterpret_cast<uint8_t*>(&v), len));
  }
  uint64_t read(uint64_t addr, size_t len) {
    uint8_t b[8] = {};
    mmio_.read(addr, std::span(b, len));
    uint64_t v = 0;
    std::memcpy(&v, b, len);
    return v;
  }
  void write(uint64_t addr, uint64_t v, size_t len) {
    mmio_.write(addr, std::span(reinterpret_cast<uint8_t*>(&v), len));
  }
  uint64_t common(uint64_t field) const {
    return bar_ + offsets_.at(virtio::kPciCapCommonCfg) + field;
  }
  uint64_t device_config() const { return bar_ + offsets_.at(virtio::kPciCapDeviceCfg); }
  uint64_t notify_base() const { return bar_ + offsets_.at(virtio::kPciCapNotifyCfg); }

  // Enables MSI-X with vector v -> data 0x40 + v for `count` vectors.
  void enable_msix(uint16_t count) {
    cfg_write(msix_cap_ + 2u, 0x8000, 2);
    uint64_t table = bar_ + (cfg_read(msix_cap_ + 4u) & ~7u);
    for (uint64_t v = 0; v < count; ++v) {
      write(table + 16 * v, 0xfee00000, 4);
      write(table + 16 * v + 8, 0x40 + v, 4);
      write(table + 16 * v + 12, 0, 4);
    }
  }
  uint64_t device_features() {
    write(common(0x00), 0, 4);
    uint64_t lo = read(common(0x04), 4);
    write(common(0x00), 1, 4);
    return lo | (read(common(0x04), 4) << 32);
  }
  // Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; true when the device accepted them.
  bool negotiate(uint64_t features) {
    write(common(0x14), 0, 1);
    write(common(0x14), virtio::kStatusAcknowledge | virtio::kStatusDriver, 1);
    write(common(0x08), 0, 4);
    write(common(0x0c), static_cast<uint32_t>(features), 4);
    write(common(0x08), 1, 4);
    write(common(0x0c), static_cast<uint32_t>(features >> 32), 4);
    write(common(0x14), kBaseStatus, 1);
    return read(common(0x14), 1) & virtio::kStatusFeaturesOk;
  }
  void setup_queue(uint16_t index, const QueueLayout& l, uint16_t vector) {
    write(common(0x16), index, 2);
    write(common(0x18), l.size, 2);
    write(common(0x20), l.desc.value(), 8);
    write(common(0x28), l.avail.value(), 8);
    write(common(0x30), l.used.value(), 8);
    write(common(0x1a), vector, 2);
    write(common(0x1c), 1, 2);
  }
  // Writes 0 to the status and waits for it to read back 0 (the device has stopped).
  void reset() {
    write(common(0x14), 0, 1);
    while (status() != 0) {
    }
  }
  void set_config_vector(uint16_t vector) { write(common(0x10), vector, 2); }
  void driver_ok() { write(common(0x14), kBaseStatus | virtio::kStatusDriverOk, 1); }
  uint8_t status() { return static_cast<uint8_t>(read(common(0x14), 1)); }
  void notify(uint16_t queue) {
    write(common(0x16), queue, 2);
    uint64_t off = read(common(0x1e), 2);
    write(notify_base() + off * 4, queue, 2);
  }

 private:
  static constexpr uint64_t kBaseStatus =
      virtio::kStatusAcknowledge | virtio::kStatusDriver | virtio::kStatusFeaturesOk;
  PciRoot& root_;
  Bus& mmio_;
  uint8_t slot_;
  uint64_t bar_ = 0;
  uint8_t msix_cap_ = 0;
  std::map<uint8_t, uint32_t> offsets_;
};

}  // namespace vmkit::testing
