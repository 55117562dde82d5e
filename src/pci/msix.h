// The MSI-X capability of one PCI function: the capability bytes in configuration space, the
// vector table and pending-bit array (PBA) the guest reaches through a BAR, and delivery of a
// vector to the platform's MsiVectorGroup. A vector that fires while masked sets its pending
// bit and is delivered when unmasked, as the PCI specification requires.
//
// Thread-safety: every method may be called from any thread (vCPU threads for table and
// configuration accesses, device threads for notify()); an internal mutex serializes them. The
// group's update() and trigger() are called with that mutex held, so they must not call back.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "base/result.h"
#include "pci/interrupt.h"
#include "pci/pci_config.h"

namespace vmkit {

class MsixCapability {
 public:
  static constexpr uint16_t kMaxVectors = 2048;
  static constexpr uint64_t kEntrySize = 16;

  // `vectors` in [1, 2048]. `group` receives routes and triggers (it must have `vectors`).
  MsixCapability(uint16_t vectors, std::unique_ptr<MsiVectorGroup> group);

  // Adds the capability to `config`: the table at `table_offset` and the PBA at `pba_offset`
  // of BAR `bar` (both 8-byte aligned).
  Status install(pci::ConfigSpace& config, unsigned bar, uint32_t table_offset,
                 uint32_t pba_offset);
  // To call after every configuration write: picks up the enable and function-mask bits.
  void config_written(const pci::ConfigSpace& config, uint16_t offset, size_t len);

  uint16_t vectors() const { return vectors_; }
  uint64_t table_bytes() const { return uint64_t{vectors_} * kEntrySize; }
  uint64_t pba_bytes() const { return (uint64_t{vectors_} + 63) / 64 * 8; }

  // Guest accesses at `offset` inside the table / the PBA (out-of-range bytes read as 0 and
  // are not written). The PBA is read-only.
  void table_read(uint64_t offset, std::span<uint8_t> data);
  void table_write(uint64_t offset, std::span<const uint8_t> data);
  void pba_read(uint64_t offset, std::span<uint8_t> data);

  // Back to power-on: every vector masked, nothing pending, MSI-X off (routes torn down). The
  // capability bytes in configuration space are the PciDevice's to restore.
  void reset();

  // True when the guest enabled MSI-X (then INTx is not used).
  bool enabled() const { return enabled_flag_.load(std::memory_order_acquire); }
  // Fires `vector`, or marks it pending while masked. Ignored when MSI-X is disabled or the
  // vector is out of range.
  void notify(uint16_t vector);

 private:
  std::optional<MsiMessage> route_of(uint16_t vector) const;  // mu_ held
  void sync(uint16_t vector);                                 // mu_ held
  bool entry_masked(uint16_t vector) const;                   // mu_ held

  const uint16_t vectors_;
  std::unique_ptr<MsiVectorGroup> group_;
  uint16_t cap_offset_ = 0;  // 0: not installed

  mutable std::mutex mu_;
  std::vector<uint8_t> table_;  // vectors_ * 16 bytes, little-endian entries
  std::vector<uint64_t> pending_;
  std::vector<std::optional<MsiMessage>> routes_;  // last route given to group_
  bool enabled_ = false;
  bool function_masked_ = false;
  std::atomic<bool> enabled_flag_{false};
};

}  // namespace vmkit
