// The PCI layer's platform interfaces implemented with KVM: MSI-X vectors as GSIs routed with
// KVM_SET_GSI_ROUTING and fired through irqfds (the device thread writes an eventfd; no exit,
// no ioctl), and queue notifications as ioeventfds (the guest's write wakes the device thread
// inside KVM, without a round trip through a vCPU thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "kvm/vm.h"
#include "pci/interrupt.h"
#include "pci/ioevent.h"

namespace vmkit {

// The whole GSI routing table: KVM's default IOAPIC/PIC routes for GSIs 0-23 plus one MSI route
// per programmed vector. Every change commits the full table (KVM replaces it as a whole).
class KvmGsiRouter {
 public:
  static constexpr uint32_t kFirstMsiGsi = 24;

  explicit KvmGsiRouter(KvmVm& vm) : vm_(vm) {}
  Result<uint32_t> allocate();
  void release(uint32_t gsi);
  Status set_route(uint32_t gsi, std::optional<MsiMessage> message);

 private:
  Status commit();  // with mu_ held

  KvmVm& vm_;
  std::mutex mu_;  // guards the fields below; leaf lock (no callbacks while held)
  uint32_t next_gsi_ = kFirstMsiGsi;
  uint32_t max_gsi_ = 4095;
  std::map<uint32_t, MsiMessage> routes_;
};

class KvmMsiController final : public MsiController {
 public:
  KvmMsiController(KvmVm& vm, KvmGsiRouter& router) : vm_(vm), router_(router) {}
  Result<std::unique_ptr<MsiVectorGroup>> allocate(uint16_t count) override;

 private:
  KvmVm& vm_;
  KvmGsiRouter& router_;
};

class KvmIoEventRegistrar final : public IoEventRegistrar {
 public:
  // `any_length`: KVM_CAP_IOEVENTFD_ANY_LENGTH (match writes of every width); otherwise only
  // 2-byte writes, which is what Linux's virtio_pci uses for notifications.
  KvmIoEventRegistrar(KvmVm& vm, bool any_length) : vm_(vm), any_length_(any_length) {}
  Status register_ioevent(uint64_t address, const EventFd& event) override;
  void unregister_ioevent(uint64_t address, const EventFd& event) override;

 private:
  KvmVm& vm_;
  bool any_length_;
};

}  // namespace vmkit
