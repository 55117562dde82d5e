// A KVM virtual machine: memory slots, in-kernel irqchip and PIT, irqfd, ioeventfd, GSI routing.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "kvm/kvm.h"

namespace vmkit {

class KvmVm {
 public:
  static Result<KvmVm> create(const Kvm& kvm);

  int fd() const { return fd_.get(); }

  Status set_memory_region(uint32_t slot, uint64_t guest_phys, uint64_t size, void* host,
                           uint32_t flags = 0);
  Status set_tss_address(uint64_t addr);
  Status set_identity_map_address(uint64_t addr);
  // In-kernel LAPIC/IOAPIC/PIC, and the i8254 PIT.
  Status create_irqchip();
  Status create_pit();
  // Raises or lowers an IRQ line of the in-kernel IOAPIC/PIC.
  Status set_irq_line(uint32_t irq, bool level) const;
  Status irqfd(int event_fd, uint32_t gsi);
  Status irqfd_deassign(int event_fd, uint32_t gsi);
  // A write of `len` bytes to `addr` (PIO when `pio`) signals `event_fd` inside KVM, without an
  // exit to userspace.
  Status ioeventfd(int event_fd, uint64_t addr, uint32_t len, bool pio);
  Status ioeventfd_deassign(int event_fd, uint64_t addr, uint32_t len, bool pio);
  // Replaces the whole GSI routing table.
  Status set_gsi_routing(std::span<const kvm_irq_routing_entry> entries);
  // Default IOAPIC pin routes for GSIs 0..23 (what KVM sets up by itself), to which MSI routes
  // are appended.
  static std::vector<kvm_irq_routing_entry> default_irqchip_routes();

  Status set_clock(uint64_t ns);
  Status enable_cap(uint32_t cap, uint64_t arg0 = 0);

 private:
  explicit KvmVm(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace vmkit
