#include "kvm/exit.h"

#include <fmt/format.h>

#include "base/checked.h"

namespace vmkit {

VcpuExit decode_exit(kvm_run* run, size_t run_size) {
  // SAFETY: kvm_run is a byte-addressable page shared with KVM; offsets are checked below.
  auto* base = reinterpret_cast<uint8_t*>(run);
  switch (run->exit_reason) {
    case KVM_EXIT_IO: {
      uint64_t len = uint64_t{run->io.size} * run->io.count;
      if (run->io.size == 0 || !range_within(run->io.data_offset, len, run_size)) {
        return ExitUnknown{run->exit_reason};
      }
      uint8_t* data = base + run->io.data_offset;
      if (run->io.direction == KVM_EXIT_IO_IN) {
        return ExitIoIn{run->io.port, run->io.size, std::span<uint8_t>(data, len)};
      }
      return ExitIoOut{run->io.port, run->io.size, std::span<const uint8_t>(data, len)};
    }
    case KVM_EXIT_MMIO: {
      size_t len = run->mmio.len > sizeof(run->mmio.data) ? sizeof(run->mmio.data) : run->mmio.len;
      if (run->mmio.is_write) {
        return ExitMmioWrite{run->mmio.phys_addr, std::span<const uint8_t>(run->mmio.data, len)};
      }
      return ExitMmioRead{run->mmio.phys_addr, std::span<uint8_t>(run->mmio.data, len)};
    }
    case KVM_EXIT_HLT:
      return ExitHlt{};
    case KVM_EXIT_SHUTDOWN:
      return ExitShutdown{};
    case KVM_EXIT_SYSTEM_EVENT:
      return ExitSystemEvent{run->system_event.type};
    case KVM_EXIT_FAIL_ENTRY:
      return ExitFailEntry{run->fail_entry.hardware_entry_failure_reason};
    case KVM_EXIT_INTERNAL_ERROR: {
      uint32_t n = run->internal.ndata;
      if (n > 16) n = 16;
      return ExitInternalError{run->internal.suberror,
                               std::vector<uint64_t>(run->internal.data, run->internal.data + n)};
    }
    case KVM_EXIT_INTR:
      return ExitInterrupted{};
    default:
      return ExitUnknown{run->exit_reason};
  }
}

namespace {
const char* internal_suberror_name(uint32_t s) {
  switch (s) {
    case KVM_INTERNAL_ERROR_EMULATION:
      return "emulation failure";
    case KVM_INTERNAL_ERROR_SIMUL_EX:
      return "simultaneous exceptions";
    case KVM_INTERNAL_ERROR_DELIVERY_EV:
      return "event delivery failure";
    default:
      return "internal error";
  }
}
}  // namespace

std::string describe_exit(const VcpuExit& exit) {
  struct Visitor {
    std::string operator()(const ExitIoIn& e) const {
      return fmt::format("KVM_EXIT_IO in port {:#x} size {}", e.port, e.size);
    }
    std::string operator()(const ExitIoOut& e) const {
      return fmt::format("KVM_EXIT_IO out port {:#x} size {}", e.port, e.size);
    }
    std::string operator()(const ExitMmioRead& e) const {
      return fmt::format("KVM_EXIT_MMIO read {:#x} len {}", e.address, e.data.size());
    }
    std::string operator()(const ExitMmioWrite& e) const {
      return fmt::format("KVM_EXIT_MMIO write {:#x} len {}", e.address, e.data.size());
    }
    std::string operator()(const ExitHlt&) const { return "KVM_EXIT_HLT"; }
    std::string operator()(const ExitShutdown&) const { return "KVM_EXIT_SHUTDOWN (triple fault)"; }
    std::string operator()(const ExitSystemEvent& e) const {
      return fmt::format("KVM_EXIT_SYSTEM_EVENT type {}", e.type);
    }
    std::string operator()(const ExitFailEntry& e) const {
      return fmt::format("KVM_EXIT_FAIL_ENTRY hardware reason {:#x}", e.reason);
    }
    std::string operator()(const ExitInternalError& e) const {
      std::string s = fmt::format("KVM_EXIT_INTERNAL_ERROR: {} (suberror {})",
                                  internal_suberror_name(e.suberror), e.suberror);
      for (uint64_t d : e.data) s += fmt::format(" {:#x}", d);
      return s;
    }
    std::string operator()(const ExitInterrupted&) const { return "KVM_EXIT_INTR"; }
    std::string operator()(const ExitUnknown& e) const {
      return fmt::format("unhandled KVM exit reason {}", e.reason);
    }
  };
  return std::visit(Visitor{}, exit);
}

}  // namespace vmkit
