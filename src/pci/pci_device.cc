#include "pci/pci_device.h"

#include <cstring>

#include "base/checked.h"
#include "base/log.h"

namespace vmkit {
namespace {

// BAR register low bits.
constexpr uint32_t kBarMemType64 = 0x4;
constexpr uint32_t kBarPrefetchable = 0x8;
constexpr uint32_t kBarFlagsMask = 0xf;

// The MMIO bus range of one BAR: forwards accesses to the device with BAR-relative offsets.
class BarRegion final : public BusDevice {
 public:
  BarRegion(std::shared_ptr<PciDevice> device, unsigned index)
      : device_(std::move(device)), index_(index) {}
  void read(uint64_t offset, std::span<uint8_t> data) override {
    device_->bar_read(index_, offset, data);
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    device_->bar_write(index_, offset, data);
  }

 private:
  std::shared_ptr<PciDevice> device_;
  unsigned index_;
};

}  // namespace

PciDevice::PciDevice(const PciIds& ids) {
  config_.set16(pci::kVendorId, ids.vendor);
  config_.set16(pci::kDeviceId, ids.device);
  config_.set8(pci::kRevisionId, ids.revision);
  config_.set8(pci::kClassCode, static_cast<uint8_t>(ids.class_code));
  config_.set8(pci::kClassCode + 1, static_cast<uint8_t>(ids.class_code >> 8));
  config_.set8(pci::kClassCode + 2, static_cast<uint8_t>(ids.class_code >> 16));
  config_.set16(pci::kSubsystemVendorId, ids.subsystem_vendor);
  config_.set16(pci::kSubsystemId, ids.subsystem);
  config_.set_writable16(pci::kCommand, pci::kCommandWritable);
  config_.set_writable(pci::kCacheLineSize, std::array<uint8_t, 2>{0xff, 0xff});
  config_.set_writable(pci::kInterruptLine, std::array<uint8_t, 1>{0xff});
}

Status PciDevice::add_bar(unsigned index, const BarSpec& spec) {
  bool is64 = spec.type == BarType::kMemory64;
  if (index >= kNumBars || (is64 && index + 1 >= kNumBars)) {
    return Error(fmt::format("pci: BAR index {} out of range", index));
  }
  if (bars_[index].slot != Slot::kUnused || (is64 && bars_[index + 1].slot != Slot::kUnused)) {
    return Error(fmt::format("pci: BAR {} already declared", index));
  }
  if (!is_power_of_two(spec.size) || spec.size < 16 || (!is64 && spec.size > (uint64_t{1} << 31))) {
    return Error(
        fmt::format("pci: BAR {} size {:#x} is not a valid power of two", index, spec.size));
  }
  bars_[index].slot = is64 ? Slot::kMemory64Low : Slot::kMemory32;
  bars_[index].spec = spec;
  if (is64) bars_[index + 1].slot = Slot::kMemory64High;
  return {};
}

std::optional<BarSpec> PciDevice::bar_spec(unsigned index) const {
  if (index >= kNumBars) return std::nullopt;
  const Bar& bar = bars_[index];
  if (bar.slot != Slot::kMemory32 && bar.slot != Slot::kMemory64Low) return std::nullopt;
  return bar.spec;
}

uint64_t PciDevice::bar_address(unsigned index) const {
  return index < kNumBars ? bars_[index].address : 0;
}

std::optional<uint64_t> PciDevice::bar_mapped_at(unsigned index) const {
  return index < kNumBars ? bars_[index].mapped_at : std::nullopt;
}

void PciDevice::set_irq_line(std::shared_ptr<IrqLine> line, uint8_t line_number) {
  irq_line_ = std::move(line);
  for (pci::ConfigSpace* cs : {&config_, &reset_config_}) {
    cs->set8(pci::kInterruptPin, irq_line_ ? 1 : 0);  // INTA#
    cs->set8(pci::kInterruptLine, line_number);
  }
}

void PciDevice::set_intx(bool asserted) {
  bool disabled = (command_.load(std::memory_order_relaxed) & pci::kCommandIntxDisable) != 0;
  bool level = asserted && !disabled;
  intx_level_.store(asserted, std::memory_order_relaxed);
  if (irq_line_) irq_line_->set_level(level);
}

uint32_t PciDevice::bar_register(unsigned index) const {
  const Bar& bar = bars_[index];
  switch (bar.slot) {
    case Slot::kUnused:
      return 0;
    case Slot::kMemory32:
    case Slot::kMemory64Low: {
      uint32_t flags = bar.slot == Slot::kMemory64Low ? kBarMemType64 : 0;
      if (bar.spec.prefetchable) flags |= kBarPrefetchable;
      return (static_cast<uint32_t>(bar.address) & ~kBarFlagsMask) | flags;
    }
    case Slot::kMemory64High:
      return static_cast<uint32_t>(bars_[index - 1].address >> 32);
  }
  return 0;
}

void PciDevice::write_bar_register(unsigned index, uint32_t value) {
  Bar& bar = bars_[index];
  switch (bar.slot) {
    case Slot::kUnused:
      return;
    case Slot::kMemory32:
    case Slot::kMemory64Low:
      bar.address = (bar.address & ~uint64_t{0xffffffff}) | (value & ~kBarFlagsMask);
      bar.address &= ~(bar.spec.size - 1);
      return;
    case Slot::kMemory64High: {
      Bar& low = bars_[index - 1];
      low.address = (low.address & 0xffffffff) | (uint64_t{value} << 32);
      low.address &= ~(low.spec.size - 1);
      return;
    }
  }
}

void PciDevice::place_bar(unsigned index, uint64_t address) {
  if (index >= kNumBars) return;
  Bar& bar = bars_[index];
  if (bar.slot != Slot::kMemory32 && bar.slot != Slot::kMemory64Low) return;
  bar.address = address & ~(bar.spec.size - 1);
  update_mappings();
}

void PciDevice::config_read(uint16_t offset, std::span<uint8_t> data) {
  if (offset >= pci::kBar0 && offset < pci::kBarEnd) {
    unsigned index = (offset - pci::kBar0) / 4u;
    uint32_t reg = bar_register(index);
    size_t shift = offset % 4u;
    for (size_t i = 0; i < data.size() && shift + i < 4; ++i) {
      data[i] = static_cast<uint8_t>(reg >> (8 * (shift + i)));
    }
  } else {
    config_.read(offset, data);
    // Status bit 3 follows the INTx state.
    if (offset <= pci::kStatus && offset + data.size() > pci::kStatus &&
        intx_level_.load(std::memory_order_relaxed)) {
      data[pci::kStatus - offset] |= static_cast<uint8_t>(pci::kStatusInterrupt);
    }
  }
  config_reading(offset, data);
}

void PciDevice::config_write(uint16_t offset, std::span<const uint8_t> data) {
  if (offset >= pci::kBar0 && offset < pci::kBarEnd) {
    unsigned index = (offset - pci::kBar0) / 4u;
    uint32_t reg = bar_register(index);
    size_t shift = offset % 4u;
    for (size_t i = 0; i < data.size() && shift + i < 4; ++i) {
      uint32_t byte_shift = static_cast<uint32_t>(8 * (shift + i));
      reg = (reg & ~(0xffu << byte_shift)) | (uint32_t{data[i]} << byte_shift);
    }
    write_bar_register(index, reg);
    update_mappings();
  } else {
    config_.guest_write(offset, data);
    if (offset < pci::kCommand + 2 && offset + data.size() > pci::kCommand) {
      uint16_t old_command = command_.exchange(config_.read16(pci::kCommand));
      update_mappings();
      // INTx disable toggled: re-evaluate the line.
      if ((old_command ^ config_.read16(pci::kCommand)) & pci::kCommandIntxDisable) {
        set_intx(intx_level_.load(std::memory_order_relaxed));
      }
    }
  }
  config_written(offset, data.size());
}

void PciDevice::unmap(unsigned index) {
  Bar& bar = bars_[index];
  if (!bar.mapped_at) return;
  uint64_t address = *bar.mapped_at;
  bar.mapped_at.reset();
  bar_unmapped(index, address);
  if (mmio_) mmio_->remove(address);
}

void PciDevice::update_mappings() {
  bool decode = (config_.read16(pci::kCommand) & pci::kCommandMemory) != 0;
  for (unsigned i = 0; i < kNumBars; ++i) {
    Bar& bar = bars_[i];
    if (bar.slot != Slot::kMemory32 && bar.slot != Slot::kMemory64Low) continue;
    std::optional<uint64_t> want;
    if (decode && mmio_ && bar.address != 0 && checked_add(bar.address, bar.spec.size)) {
      want = bar.address;
    }
    if (want == bar.mapped_at) continue;
    unmap(i);
    if (!want) continue;
    auto status =
        mmio_->insert(std::make_shared<BarRegion>(shared_from_this(), i), *want, bar.spec.size);
    if (!status.ok()) {
      // The guest placed the BAR over something else: it stays unmapped until moved.
      LOG_GUEST_ERROR("pci: BAR {} at {:#x} not mapped: {}", i, *want, status.error().message());
      continue;
    }
    bar.mapped_at = want;
    bar_mapped(i, *want);
  }
}

void PciDevice::save_reset_state() {
  reset_config_ = config_;
  for (unsigned i = 0; i < kNumBars; ++i) reset_addresses_[i] = bars_[i].address;
}

void PciDevice::reset_function() {
  for (unsigned i = 0; i < kNumBars; ++i) unmap(i);
  config_ = reset_config_;
  for (unsigned i = 0; i < kNumBars; ++i) bars_[i].address = reset_addresses_[i];
  command_.store(config_.read16(pci::kCommand));
  set_intx(false);
  update_mappings();
  function_reset();
}

void PciDevice::disconnect() {
  for (unsigned i = 0; i < kNumBars; ++i) unmap(i);
  mmio_ = nullptr;
}

}  // namespace vmkit
