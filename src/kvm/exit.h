// A KVM exit decoded once into a typed value. Spans point into the vCPU's kvm_run page and are
// valid until the next run(). Tests decode synthetic kvm_run structures.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace vmkit {

struct ExitIoIn {
  uint16_t port;
  uint8_t size;             // bytes per access: 1, 2 or 4
  std::span<uint8_t> data;  // size * count bytes to fill (string I/O has count > 1)
};
struct ExitIoOut {
  uint16_t port;
  uint8_t size;
  std::span<const uint8_t> data;
};
struct ExitMmioRead {
  uint64_t address;
  std::span<uint8_t> data;  // 1..8 bytes to fill
};
struct ExitMmioWrite {
  uint64_t address;
  std::span<const uint8_t> data;
};
struct ExitHlt {};
struct ExitShutdown {};  // triple fault
struct ExitSystemEvent {
  uint32_t type;  // KVM_SYSTEM_EVENT_*
};
struct ExitFailEntry {
  uint64_t reason;
};
struct ExitInternalError {
  uint32_t suberror;
  std::vector<uint64_t> data;  // at most 16 words
};
struct ExitInterrupted {};  // EINTR or immediate_exit: a command for the vCPU thread
struct ExitUnknown {
  uint32_t reason;
};

using VcpuExit =
    std::variant<ExitIoIn, ExitIoOut, ExitMmioRead, ExitMmioWrite, ExitHlt, ExitShutdown,
                 ExitSystemEvent, ExitFailEntry, ExitInternalError, ExitInterrupted, ExitUnknown>;

// Decodes kvm_run after KVM_RUN returned 0. `run_size` bounds PIO data offsets.
VcpuExit decode_exit(kvm_run* run, size_t run_size);

// "KVM_EXIT_IO out port 0x3f8 size 1", for error messages and logs.
std::string describe_exit(const VcpuExit& exit);

}  // namespace vmkit
