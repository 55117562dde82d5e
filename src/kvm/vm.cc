#include "kvm/vm.h"

#include <sys/ioctl.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "kvm/uapi.h"

namespace vmkit {

Result<KvmVm> KvmVm::create(const Kvm& kvm) {
  int fd = ::ioctl(kvm.fd(), KVM_CREATE_VM, 0);
  if (fd < 0) return Error::from_errno("KVM_CREATE_VM");
  return KvmVm(UniqueFd(fd));
}

Status KvmVm::set_memory_region(uint32_t slot, uint64_t guest_phys, uint64_t size, void* host,
                                uint32_t flags) {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.flags = flags;
  region.guest_phys_addr = guest_phys;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(host);  // SAFETY: KVM takes the address
  if (::ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    return Error::from_errno(fmt::format("KVM_SET_USER_MEMORY_REGION slot {} at {:#x} size {:#x}",
                                         slot, guest_phys, size));
  }
  return {};
}

Status KvmVm::set_tss_address(uint64_t addr) {
  if (::ioctl(fd_.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(addr)) < 0) {
    return Error::from_errno("KVM_SET_TSS_ADDR");
  }
  return {};
}

Status KvmVm::set_identity_map_address(uint64_t addr) {
  if (::ioctl(fd_.get(), KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0) {
    return Error::from_errno("KVM_SET_IDENTITY_MAP_ADDR");
  }
  return {};
}

Status KvmVm::create_irqchip() {
  if (::ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0) < 0) return Error::from_errno("KVM_CREATE_IRQCHIP");
  return {};
}

Status KvmVm::create_pit() {
  kvm_pit_config config{};
  config.flags = KVM_PIT_SPEAKER_DUMMY;
  if (::ioctl(fd_.get(), KVM_CREATE_PIT2, &config) < 0) return Error::from_errno("KVM_CREATE_PIT2");
  return {};
}

Status KvmVm::set_irq_line(uint32_t irq, bool level) const {
  kvm_irq_level line{};
  line.irq = irq;
  line.level = level ? 1 : 0;
  if (::ioctl(fd_.get(), KVM_IRQ_LINE, &line) < 0) {
    return Error::from_errno("KVM_IRQ_LINE " + std::to_string(irq));
  }
  return {};
}

Status KvmVm::irqfd(int event_fd, uint32_t gsi) {
  kvm_irqfd req{};
  req.fd = static_cast<uint32_t>(event_fd);
  req.gsi = gsi;
  if (::ioctl(fd_.get(), KVM_IRQFD, &req) < 0) {
    return Error::from_errno("KVM_IRQFD gsi " + std::to_string(gsi));
  }
  return {};
}

Status KvmVm::irqfd_deassign(int event_fd, uint32_t gsi) {
  kvm_irqfd req{};
  req.fd = static_cast<uint32_t>(event_fd);
  req.gsi = gsi;
  req.flags = KVM_IRQFD_FLAG_DEASSIGN;
  if (::ioctl(fd_.get(), KVM_IRQFD, &req) < 0) {
    return Error::from_errno("KVM_IRQFD deassign gsi " + std::to_string(gsi));
  }
  return {};
}

namespace {
Status ioeventfd_ioctl(int vm_fd, int event_fd, uint64_t addr, uint32_t len, bool pio,
                       bool deassign) {
  kvm_ioeventfd req{};
  req.addr = addr;
  req.len = len;
  req.fd = event_fd;
  req.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0u) | (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0u);
  if (::ioctl(vm_fd, KVM_IOEVENTFD, &req) < 0) {
    return Error::from_errno(
        fmt::format("KVM_IOEVENTFD {} {:#x}+{}", deassign ? "deassign" : "at", addr, len));
  }
  return {};
}
}  // namespace

Status KvmVm::ioeventfd(int event_fd, uint64_t addr, uint32_t len, bool pio) {
  return ioeventfd_ioctl(fd_.get(), event_fd, addr, len, pio, false);
}

Status KvmVm::ioeventfd_deassign(int event_fd, uint64_t addr, uint32_t len, bool pio) {
  return ioeventfd_ioctl(fd_.get(), event_fd, addr, len, pio, true);
}

Status KvmVm::set_gsi_routing(std::span<const kvm_irq_routing_entry> entries) {
  kvm_uapi::FlexBuffer<kvm_uapi::IrqRoutingHeader, kvm_irq_routing_entry> buf(entries.size());
  buf.set_header({static_cast<uint32_t>(entries.size()), 0});
  for (size_t i = 0; i < entries.size(); ++i) buf.set_entry(i, entries[i]);
  if (::ioctl(fd_.get(), kvm_uapi::kSetGsiRouting, buf.data()) < 0) {
    return Error::from_errno("KVM_SET_GSI_ROUTING");
  }
  return {};
}

std::vector<kvm_irq_routing_entry> KvmVm::default_irqchip_routes() {
  // Exactly what KVM installs with KVM_CREATE_IRQCHIP: GSI n to IOAPIC pin n for 0-23, and
  // GSIs 0-15 also to the master/slave PIC. The MADT therefore has no IRQ0 override.
  std::vector<kvm_irq_routing_entry> routes;
  for (uint32_t gsi = 0; gsi < 24; ++gsi) {
    kvm_irq_routing_entry ioapic{};
    ioapic.gsi = gsi;
    ioapic.type = KVM_IRQ_ROUTING_IRQCHIP;
    ioapic.u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
    ioapic.u.irqchip.pin = gsi;
    routes.push_back(ioapic);
    if (gsi < 16) {
      kvm_irq_routing_entry pic{};
      pic.gsi = gsi;
      pic.type = KVM_IRQ_ROUTING_IRQCHIP;
      pic.u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
      pic.u.irqchip.pin = gsi % 8;
      routes.push_back(pic);
    }
  }
  return routes;
}

Status KvmVm::set_clock(uint64_t ns) {
  kvm_clock_data data{};
  data.clock = ns;
  if (::ioctl(fd_.get(), KVM_SET_CLOCK, &data) < 0) return Error::from_errno("KVM_SET_CLOCK");
  return {};
}

Status KvmVm::enable_cap(uint32_t cap, uint64_t arg0) {
  kvm_enable_cap req{};
  req.cap = cap;
  req.args[0] = arg0;
  if (::ioctl(fd_.get(), KVM_ENABLE_CAP, &req) < 0) {
    return Error::from_errno("KVM_ENABLE_CAP " + std::to_string(cap));
  }
  return {};
}

}  // namespace vmkit
