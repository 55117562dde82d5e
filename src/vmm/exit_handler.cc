#include "vmm/exit_handler.h"

#include <unistd.h>

#include <algorithm>

#include "base/log.h"

namespace vmkit {

bool host_is_pvm() {
  return ::access("/sys/module/kvm_pvm", F_OK) == 0;
}

std::string explain_internal_error(const ExitInternalError& error, bool pvm_host) {
  std::string message = describe_exit(error);
  if (pvm_host && error.suberror == KVM_INTERNAL_ERROR_EMULATION) {
    message +=
        ". This host's /dev/kvm is PVM (kvm_pvm), a software hypervisor that runs only guest "
        "kernels built for PVM: a stock kernel falls into KVM's instruction emulator and fails. "
        "Run vmkit on a host with VT-x or AMD-V, or inside the nested test host "
        "(scripts/nested-host/run.sh).";
  }
  return message;
}

namespace {

void pio_in(const Bus& pio, const ExitIoIn& e) {
  for (size_t off = 0; off + e.size <= e.data.size(); off += e.size) {
    auto chunk = e.data.subspan(off, e.size);
    if (!pio.read(e.port, chunk)) std::fill(chunk.begin(), chunk.end(), 0xff);  // floating bus
  }
}

void pio_out(const Bus& pio, const ExitIoOut& e) {
  for (size_t off = 0; off + e.size <= e.data.size(); off += e.size) {
    pio.write(e.port, e.data.subspan(off, e.size));
  }
}

}  // namespace

ExitResult handle_exit(const VcpuExit& exit, const Bus& pio, const Bus& mmio) {
  ExitResult result;
  if (auto* in = std::get_if<ExitIoIn>(&exit)) {
    pio_in(pio, *in);
  } else if (auto* out = std::get_if<ExitIoOut>(&exit)) {
    pio_out(pio, *out);
  } else if (auto* mr = std::get_if<ExitMmioRead>(&exit)) {
    if (!mmio.read(mr->address, mr->data)) {
      LOG_GUEST_ERROR("MMIO read of unclaimed address {:#x}", mr->address);
    }
  } else if (auto* mw = std::get_if<ExitMmioWrite>(&exit)) {
    if (!mmio.write(mw->address, mw->data)) {
      LOG_GUEST_ERROR("MMIO write to unclaimed address {:#x}", mw->address);
    }
  } else if (std::holds_alternative<ExitHlt>(exit)) {
    result.stop = VmEvent::kPoweroff;  // only seen without an in-kernel LAPIC
  } else if (auto* ev = std::get_if<ExitSystemEvent>(&exit)) {
    result.stop = ev->type == KVM_SYSTEM_EVENT_RESET ? VmEvent::kReset : VmEvent::kPoweroff;
  } else if (std::holds_alternative<ExitShutdown>(exit)) {
    result.stop = VmEvent::kError;
    result.message = "the guest triple-faulted (KVM_EXIT_SHUTDOWN)";
  } else if (auto* ie = std::get_if<ExitInternalError>(&exit)) {
    result.stop = VmEvent::kError;
    result.message = explain_internal_error(*ie, host_is_pvm());
  } else if (std::holds_alternative<ExitInterrupted>(exit)) {
    // Nothing to do: the vCPU thread checks its commands.
  } else {
    result.stop = VmEvent::kError;
    result.message = describe_exit(exit);
  }
  return result;
}

}  // namespace vmkit
