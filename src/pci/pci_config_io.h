// PCI configuration mechanism #1: the address register at port 0xCF8 and the data window at
// 0xCFC-0xCFF, as a device for the PIO bus (insert it at kBase with kSize). Byte writes to
// 0xCF9 (the chipset's reset control register) go to an optional handler.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "bus/bus.h"
#include "pci/pci_root.h"

namespace vmkit {

class PciConfigIo final : public BusDevice {
 public:
  static constexpr uint64_t kBase = 0xcf8;
  static constexpr uint64_t kSize = 8;

  explicit PciConfigIo(PciRoot& root) : root_(root) {}

  // Called for a byte write to 0xCF9 with the reset bit (bit 2) set; `value` is the byte.
  void set_reset_handler(std::function<void(uint8_t value)> handler);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  uint32_t address() const;

 private:
  PciRoot& root_;
  mutable std::mutex mu_;  // guards address_ and keeps each data access with its address
  uint32_t address_ = 0;
  std::function<void(uint8_t)> reset_handler_;
};

}  // namespace vmkit
