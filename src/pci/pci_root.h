// PCI root bus 0 behind a host bridge: up to 32 slots (function 0 each), BAR placement from the
// MMIO windows the platform reserves for PCI, and configuration access by bus/slot/function.
// The host bridge itself is slot 0. The guest's ACPI DSDT describes this bus (PNP0A03, _BBN 0,
// _CRS with the config ports and the same windows).
//
// Lock order: PciConfigIo::mu_ -> PciRoot::mu_ -> device locks (transport, MSI-X).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "base/result.h"
#include "bus/bus.h"
#include "pci/pci_device.h"

namespace vmkit {

struct MmioWindow {
  uint64_t base = 0;
  uint64_t size = 0;  // 0: no window
};

struct PciWindows {
  MmioWindow mmio32;  // below 4 GiB, e.g. 0xC0000000-0xDFFFFFFF
  MmioWindow mmio64;  // above RAM; 64-bit BARs fall back to mmio32 when empty
};

class PciRoot {
 public:
  static constexpr uint8_t kNumSlots = 32;
  static constexpr uint16_t kHostBridgeVendor = 0x1b36;  // Red Hat, Inc.
  static constexpr uint16_t kHostBridgeDevice = 0x0008;  // PCIe host bridge

  // `mmio` must outlive the root. The host bridge occupies slot 0.
  PciRoot(Bus& mmio, PciWindows windows);
  ~PciRoot();
  PciRoot(const PciRoot&) = delete;
  PciRoot& operator=(const PciRoot&) = delete;

  // Places `device` in `slot` (1-31) or the first free one, assigns its BARs from the windows
  // (naturally aligned; 64-bit BARs from mmio64 when it exists) and returns the slot. The
  // guest enables decoding itself; until then nothing is on the MMIO bus.
  Result<uint8_t> attach(std::shared_ptr<PciDevice> device,
                         std::optional<uint8_t> slot = std::nullopt);

  // Configuration access (1, 2 or 4 bytes inside one dword). Absent functions read all-ones.
  void config_read(uint8_t bus, uint8_t slot, uint8_t function, uint16_t offset,
                   std::span<uint8_t> data);
  void config_write(uint8_t bus, uint8_t slot, uint8_t function, uint16_t offset,
                    std::span<const uint8_t> data);

  // Resets every function (VM reset): configuration as placed at attach, decoding off, and
  // each device's own reset (virtio: as if the driver wrote 0 to the status).
  void reset();

  const PciWindows& windows() const { return windows_; }
  // Occupied slots in ascending order (slot 0 is the host bridge), e.g. for the DSDT's _PRT.
  std::vector<uint8_t> occupied_slots() const;
  std::shared_ptr<PciDevice> device(uint8_t slot) const;

 private:
  struct Cursor {
    MmioWindow window;
    uint64_t next = 0;  // offset of the first free byte
  };
  static std::optional<uint64_t> allocate(Cursor& cursor, uint64_t size);
  PciDevice* lookup(uint8_t bus, uint8_t slot, uint8_t function, uint16_t offset, size_t len);

  Bus& mmio_;
  const PciWindows windows_;
  mutable std::mutex mu_;  // guards everything below
  Cursor mmio32_;
  Cursor mmio64_;
  std::array<std::shared_ptr<PciDevice>, kNumSlots> slots_;
};

}  // namespace vmkit
