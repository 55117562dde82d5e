#include "pci/pci_root.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "base/checked.h"

namespace vmkit {
namespace {

// Slot 0: a host bridge without BARs, so that the guest sees bus 0 as a PCI host.
class HostBridge final : public PciDevice {
 public:
  HostBridge()
      : PciDevice(PciIds{.vendor = PciRoot::kHostBridgeVendor,
                         .device = PciRoot::kHostBridgeDevice,
                         .subsystem_vendor = PciRoot::kHostBridgeVendor,
                         .subsystem = 0x1100,
                         .revision = 0,
                         .class_code = 0x060000}) {}
  void bar_read(unsigned, uint64_t, std::span<uint8_t>) override {}
  void bar_write(unsigned, uint64_t, std::span<const uint8_t>) override {}
};

}  // namespace

PciRoot::PciRoot(Bus& mmio, PciWindows windows)
    : mmio_(mmio), windows_(windows), mmio32_{windows.mmio32, 0}, mmio64_{windows.mmio64, 0} {
  slots_[0] = std::make_shared<HostBridge>();
  slots_[0]->save_reset_state();
}

PciRoot::~PciRoot() {
  std::lock_guard lock(mu_);
  for (auto& device : slots_) {
    if (device) device->disconnect();
  }
}

std::optional<uint64_t> PciRoot::allocate(Cursor& cursor, uint64_t size) {
  if (cursor.window.size == 0) return std::nullopt;
  auto base = checked_add(cursor.window.base, cursor.next);
  if (!base) return std::nullopt;
  auto aligned = checked_add<uint64_t>(*base, size - 1);
  if (!aligned) return std::nullopt;
  uint64_t start = align_down(*aligned, size);
  uint64_t offset = start - cursor.window.base;
  if (!range_within(offset, size, cursor.window.size)) return std::nullopt;
  cursor.next = offset + size;
  return start;
}

Result<uint8_t> PciRoot::attach(std::shared_ptr<PciDevice> device, std::optional<uint8_t> slot) {
  std::lock_guard lock(mu_);
  uint8_t chosen = 0;
  if (slot) {
    if (*slot == 0 || *slot >= kNumSlots) {
      return Error(fmt::format("pci: slot {} is out of range (1-31)", *slot));
    }
    if (slots_[*slot]) return Error(fmt::format("pci: slot {} is already in use", *slot));
    chosen = *slot;
  } else {
    for (uint8_t s = 1; s < kNumSlots && chosen == 0; ++s) {
      if (!slots_[s]) chosen = s;
    }
    if (chosen == 0) return Error("pci: no free slot on bus 0");
  }

  // Largest BARs first keeps the windows dense. Allocation is all-or-nothing.
  std::vector<unsigned> order;
  for (unsigned i = 0; i < PciDevice::kNumBars; ++i) {
    if (device->bar_spec(i)) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](unsigned a, unsigned b) {
    return device->bar_spec(a)->size > device->bar_spec(b)->size;
  });
  Cursor saved32 = mmio32_, saved64 = mmio64_;
  std::vector<std::pair<unsigned, uint64_t>> placed;
  for (unsigned index : order) {
    BarSpec spec = *device->bar_spec(index);
    std::optional<uint64_t> address;
    if (spec.type == BarType::kMemory64) address = allocate(mmio64_, spec.size);
    if (!address) address = allocate(mmio32_, spec.size);
    if (!address) {
      mmio32_ = saved32;
      mmio64_ = saved64;
      return Error(fmt::format("pci: no room for BAR {} ({:#x} bytes) in the MMIO windows", index,
                               spec.size));
    }
    placed.emplace_back(index, *address);
  }
  device->connect(&mmio_);
  for (auto [index, address] : placed) device->place_bar(index, address);
  device->save_reset_state();
  slots_[chosen] = std::move(device);
  return chosen;
}

PciDevice* PciRoot::lookup(uint8_t bus, uint8_t slot, uint8_t function, uint16_t offset,
                           size_t len) {
  if (bus != 0 || slot >= kNumSlots || function != 0) return nullptr;
  if (len == 0 || len > 4 || offset / 4 != (offset + len - 1) / 4) return nullptr;
  if (!range_within(offset, len, pci::kConfigSize)) return nullptr;
  return slots_[slot].get();
}

void PciRoot::config_read(uint8_t bus, uint8_t slot, uint8_t function, uint16_t offset,
                          std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  PciDevice* device = lookup(bus, slot, function, offset, data.size());
  if (!device) {
    std::fill(data.begin(), data.end(), 0xff);
    return;
  }
  device->config_read(offset, data);
}

void PciRoot::config_write(uint8_t bus, uint8_t slot, uint8_t function, uint16_t offset,
                           std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  PciDevice* device = lookup(bus, slot, function, offset, data.size());
  if (device) device->config_write(offset, data);
}

void PciRoot::reset() {
  std::lock_guard lock(mu_);
  for (auto& device : slots_) {
    if (device) device->reset_function();
  }
}

std::vector<uint8_t> PciRoot::occupied_slots() const {
  std::lock_guard lock(mu_);
  std::vector<uint8_t> out;
  for (uint8_t s = 0; s < kNumSlots; ++s) {
    if (slots_[s]) out.push_back(s);
  }
  return out;
}

std::shared_ptr<PciDevice> PciRoot::device(uint8_t slot) const {
  std::lock_guard lock(mu_);
  return slot < kNumSlots ? slots_[slot] : nullptr;
}

}  // namespace vmkit
