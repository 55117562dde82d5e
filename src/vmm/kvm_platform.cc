#include "vmm/kvm_platform.h"

#include <vector>

#include "base/log.h"

namespace vmkit {

Result<uint32_t> KvmGsiRouter::allocate() {
  std::lock_guard lock(mu_);
  if (next_gsi_ > max_gsi_) return Error("out of GSIs for MSI-X vectors");
  return next_gsi_++;
}

void KvmGsiRouter::release(uint32_t gsi) {
  std::lock_guard lock(mu_);
  if (routes_.erase(gsi)) (void)commit();
}

Status KvmGsiRouter::set_route(uint32_t gsi, std::optional<MsiMessage> message) {
  std::lock_guard lock(mu_);
  auto it = routes_.find(gsi);
  if (message) {
    if (it != routes_.end() && it->second == *message) return {};
    routes_[gsi] = *message;
  } else {
    if (it == routes_.end()) return {};
    routes_.erase(it);
  }
  return commit();
}

Status KvmGsiRouter::commit() {
  std::vector<kvm_irq_routing_entry> table = KvmVm::default_irqchip_routes();
  for (const auto& [gsi, msg] : routes_) {
    kvm_irq_routing_entry e{};
    e.gsi = gsi;
    e.type = KVM_IRQ_ROUTING_MSI;
    e.u.msi.address_lo = static_cast<uint32_t>(msg.address);
    e.u.msi.address_hi = static_cast<uint32_t>(msg.address >> 32);
    e.u.msi.data = msg.data;
    table.push_back(e);
  }
  return vm_.set_gsi_routing(table);
}

namespace {

class KvmMsiVectorGroup final : public MsiVectorGroup {
 public:
  struct Vector {
    uint32_t gsi;
    EventFd event;
  };
  KvmMsiVectorGroup(KvmVm& vm, KvmGsiRouter& router, std::vector<Vector> vectors)
      : vm_(vm), router_(router), vectors_(std::move(vectors)) {}
  ~KvmMsiVectorGroup() override {
    for (auto& v : vectors_) {
      (void)vm_.irqfd_deassign(v.event.fd(), v.gsi);
      router_.release(v.gsi);
    }
  }

  void update(uint16_t index, std::optional<MsiMessage> message) override {
    if (index >= vectors_.size()) return;
    auto status = router_.set_route(vectors_[index].gsi, message);
    if (!status.ok()) LOG_ERROR("MSI-X vector {}: {}", index, status.error().message());
  }

  void trigger(uint16_t index) override {
    if (index < vectors_.size()) (void)vectors_[index].event.signal();
  }

 private:
  KvmVm& vm_;
  KvmGsiRouter& router_;
  std::vector<Vector> vectors_;
};

}  // namespace

Result<std::unique_ptr<MsiVectorGroup>> KvmMsiController::allocate(uint16_t count) {
  std::vector<KvmMsiVectorGroup::Vector> vectors;
  auto undo = [&] {
    for (auto& v : vectors) {
      (void)vm_.irqfd_deassign(v.event.fd(), v.gsi);
      router_.release(v.gsi);
    }
  };
  for (uint16_t i = 0; i < count; ++i) {
    auto gsi = router_.allocate();
    auto event = EventFd::create();
    if (!gsi.ok() || !event.ok()) {
      undo();
      return gsi.ok() ? event.error() : gsi.error();
    }
    // An irqfd may point at a GSI before it has a route: signals are dropped until then, and
    // the PCI layer only triggers vectors that have one.
    if (auto s = vm_.irqfd(event->fd(), *gsi); !s.ok()) {
      undo();
      return s.error();
    }
    vectors.push_back({*gsi, std::move(*event)});
  }
  return std::unique_ptr<MsiVectorGroup>(new KvmMsiVectorGroup(vm_, router_, std::move(vectors)));
}

Status KvmIoEventRegistrar::register_ioevent(uint64_t address, const EventFd& event) {
  return vm_.ioeventfd(event.fd(), address, any_length_ ? 0 : 2, false);
}

void KvmIoEventRegistrar::unregister_ioevent(uint64_t address, const EventFd& event) {
  (void)vm_.ioeventfd_deassign(event.fd(), address, any_length_ ? 0 : 2, false);
}

}  // namespace vmkit
