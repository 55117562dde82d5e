// The interfaces through which PCI devices raise interrupts. The platform (the vmm, with KVM)
// implements them; tests use fakes. Nothing here knows about KVM.
//
//  - MSI-X: a device asks the MsiController for a group of vectors once, at creation. The PCI
//    layer keeps the guest-visible table and tells the group whenever a vector's route changes
//    (the guest programs an entry, masks or unmasks it, enables or disables MSI-X); it calls
//    trigger() only for vectors that may fire, so the hot path is one call (an eventfd write
//    with KVM's irqfd).
//  - INTx: a level-triggered line, asserted while the device's interrupt status is non-zero.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "base/result.h"

namespace vmkit {

// One MSI message as the guest programmed it in an MSI-X table entry.
struct MsiMessage {
  uint64_t address = 0;
  uint32_t data = 0;
  bool operator==(const MsiMessage&) const = default;
};

// The vectors of one PCI function.
class MsiVectorGroup {
 public:
  virtual ~MsiVectorGroup() = default;
  // Vector `index` now delivers `message`, or nothing when nullopt (the entry or the function is
  // masked, or MSI-X is disabled). Called from vCPU threads while the guest programs the table.
  virtual void update(uint16_t index, std::optional<MsiMessage> message) = 0;
  // Fires vector `index`. Only called while its route is set (last update() had a message).
  // Called from device threads; must be cheap and must not block on the caller's locks.
  virtual void trigger(uint16_t index) = 0;
};

class MsiController {
 public:
  virtual ~MsiController() = default;
  // Reserves `count` vectors (for KVM: one GSI and one irqfd eventfd each).
  virtual Result<std::unique_ptr<MsiVectorGroup>> allocate(uint16_t count) = 0;
};

// A level-triggered legacy interrupt line (INTx), e.g. an IOAPIC pin.
class IrqLine {
 public:
  virtual ~IrqLine() = default;
  virtual void set_level(bool asserted) = 0;
};

}  // namespace vmkit
