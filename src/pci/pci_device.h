// One PCI function: its configuration space, its memory BARs and their placement on the MMIO
// bus, and its legacy interrupt line. Concrete devices (the virtio transport, later others)
// derive from it and implement the BAR accesses and the hooks they need.
//
// Concurrency: configuration accesses are serialized by the PciRoot's lock. BAR accesses come
// from vCPU threads through the MMIO bus, concurrently with each other and with configuration
// accesses; subclasses do their own locking for them. set_intx() may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "base/result.h"
#include "bus/bus.h"
#include "pci/interrupt.h"
#include "pci/pci_config.h"

namespace vmkit {

struct PciIds {
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint16_t subsystem_vendor = 0;
  uint16_t subsystem = 0;
  uint8_t revision = 0;
  uint32_t class_code = 0;  // class << 16 | subclass << 8 | prog-if
};

enum class BarType { kMemory32, kMemory64 };

struct BarSpec {
  uint64_t size = 0;  // a power of two, at least 4 KiB
  BarType type = BarType::kMemory32;
  bool prefetchable = false;
};

class PciDevice : public std::enable_shared_from_this<PciDevice> {
 public:
  static constexpr unsigned kNumBars = 6;

  explicit PciDevice(const PciIds& ids);
  virtual ~PciDevice() = default;
  PciDevice(const PciDevice&) = delete;
  PciDevice& operator=(const PciDevice&) = delete;

  pci::ConfigSpace& config() { return config_; }
  const pci::ConfigSpace& config() const { return config_; }

  // Declares memory BAR `index` (a 64-bit BAR also takes index + 1). Done before attaching.
  Status add_bar(unsigned index, const BarSpec& spec);
  // The BAR's spec, or nullopt when `index` is unused or the upper half of a 64-bit BAR.
  std::optional<BarSpec> bar_spec(unsigned index) const;
  // The address the BAR decodes (as programmed, size-aligned).
  uint64_t bar_address(unsigned index) const;
  // Where the BAR is mapped on the MMIO bus now (memory decoding on, placement valid).
  std::optional<uint64_t> bar_mapped_at(unsigned index) const;

  // Connects the INTx line (INTA#) and the Interrupt Line register value (the GSI the
  // firmware routed, informational for the guest).
  void set_irq_line(std::shared_ptr<IrqLine> line, uint8_t line_number);

  // Configuration access: `offset` + `data.size()` <= 256, 1 to 4 bytes, within one dword.
  void config_read(uint16_t offset, std::span<uint8_t> data);
  void config_write(uint16_t offset, std::span<const uint8_t> data);

  // MMIO access to BAR `index` at `offset` (inside the BAR).
  virtual void bar_read(unsigned index, uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void bar_write(unsigned index, uint64_t offset, std::span<const uint8_t> data) = 0;

  // Called by PciRoot when the device is placed: the bus its BARs map onto.
  void connect(Bus* mmio) { mmio_ = mmio; }
  // Called by PciRoot to assign an initial address (as firmware would).
  void place_bar(unsigned index, uint64_t address);
  // Removes every mapping (for teardown).
  void disconnect();
  // Records the current configuration as the state a function reset returns to (PciRoot calls
  // it once the device is placed).
  void save_reset_state();
  // A function reset (VM reset): configuration space and BARs back to the saved state, memory
  // decoding off, INTx low, then the subclass's function_reset().
  void reset_function();

 protected:
  // Asserts or deasserts INTA# (honours the command register's INTx disable bit).
  void set_intx(bool asserted);

  // Hooks, called with the root's lock held.
  virtual void config_written(uint16_t /*offset*/, size_t /*len*/) {}
  virtual void config_reading(uint16_t /*offset*/, std::span<uint8_t> /*data*/) {}
  // The BAR starts (stops) decoding at `address`: e.g. register (unregister) ioeventfds.
  virtual void bar_mapped(unsigned /*index*/, uint64_t /*address*/) {}
  virtual void bar_unmapped(unsigned /*index*/, uint64_t /*address*/) {}
  // Device state beyond configuration space goes back to power-on (called by reset_function).
  virtual void function_reset() {}

 private:
  enum class Slot { kUnused, kMemory32, kMemory64Low, kMemory64High };
  struct Bar {
    Slot slot = Slot::kUnused;
    BarSpec spec;
    uint64_t address = 0;
    std::optional<uint64_t> mapped_at;
  };

  // The BAR register at `index` as the guest reads it.
  uint32_t bar_register(unsigned index) const;
  void write_bar_register(unsigned index, uint32_t value);
  // Maps or unmaps each BAR to follow the command register and the programmed addresses.
  void update_mappings();
  void unmap(unsigned index);

  pci::ConfigSpace config_;
  std::array<Bar, kNumBars> bars_{};
  pci::ConfigSpace reset_config_;
  std::array<uint64_t, kNumBars> reset_addresses_{};
  Bus* mmio_ = nullptr;
  std::shared_ptr<IrqLine> irq_line_;
  std::atomic<uint16_t> command_{0};
  std::atomic<bool> intx_level_{false};
};

}  // namespace vmkit
