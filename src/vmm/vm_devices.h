// The PCI part of a VM: host bridge and config ports, then the virtio devices the config asks
// for (disks in order, so the first is /dev/vda; the entropy device; hvc0).
#pragma once

#include <functional>
#include <memory>

#include "base/result.h"
#include "bus/bus.h"
#include "memory/guest_memory.h"
#include "pci/pci_root.h"
#include "vmm/config.h"

namespace vmkit {

class MsiController;
class IoEventRegistrar;

struct PciPlatformRefs {
  Bus& pio;
  Bus& mmio;
  const GuestMemory& memory;
  MsiController& msi;
  IoEventRegistrar& ioevents;
  uint64_t mmio64_start;
};

// Creates the root bus, registers the config ports and attaches every device.
Result<std::unique_ptr<PciRoot>> build_pci(const PciPlatformRefs& platform, const VmConfig& config,
                                           int virtio_console_fd,
                                           std::function<void()> on_pci_reset);

}  // namespace vmkit
