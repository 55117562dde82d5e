// IrqLine implemented with KVM_IRQ_LINE on the in-kernel IOAPIC/PIC.
#pragma once

#include "base/log.h"
#include "bus/irq_line.h"
#include "kvm/vm.h"

namespace vmkit {

class KvmIrqLine : public IrqLine {
 public:
  KvmIrqLine(const KvmVm& vm, uint32_t gsi) : vm_(vm), gsi_(gsi) {}
  void set_level(bool high) override {
    auto status = vm_.set_irq_line(gsi_, high);
    if (!status.ok()) LOG_ERROR("{}", status.error().message());
  }

 private:
  const KvmVm& vm_;
  uint32_t gsi_;
};

}  // namespace vmkit
