// What a vCPU does with one decoded exit: route port and MMIO accesses to the buses, or
// decide that the VM must stop and why. A free function so tests can feed synthetic exits.
#pragma once

#include <optional>
#include <string>

#include "bus/bus.h"
#include "kvm/exit.h"
#include "vmm/vm_events.h"

namespace vmkit {

struct ExitResult {
  // Set when the VM must stop; the message explains errors.
  std::optional<VmEvent> stop;
  std::string message;
};

ExitResult handle_exit(const VcpuExit& exit, const Bus& pio, const Bus& mmio);

// The explanation for a KVM internal error: on a PVM host (kvm_pvm loaded) a stock kernel
// hits KVM's emulator; say so and what to do. `pvm_host` is passed in so tests can cover both.
std::string explain_internal_error(const ExitInternalError& error, bool pvm_host);

bool host_is_pvm();

}  // namespace vmkit
