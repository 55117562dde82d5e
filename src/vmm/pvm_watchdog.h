// On a PVM host (kvm_pvm), a stock guest kernel does not fail with a KVM exit: KVM emulates it
// instruction by instruction (~1M instructions/s here), injects faults where emulation fails,
// and the guest never gets anywhere. The watchdog reads each vCPU's KVM statistics and stops
// the VM with an explanation as soon as emulation failures appear or emulation dominates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kvm/stats.h"

namespace vmkit {

struct EmulationSample {
  uint64_t emulated = 0;  // insn_emulation
  uint64_t failed = 0;    // insn_emulation_fail
};

// Pure decision, for tests: given the previous and current totals over `seconds`, returns the
// message to stop with, or nothing.
std::optional<std::string> pvm_emulation_verdict(const EmulationSample& before,
                                                 const EmulationSample& now, double seconds);

class PvmWatchdog {
 public:
  // Opens the statistics of each vCPU fd; vCPUs without statistics are skipped.
  explicit PvmWatchdog(const std::vector<int>& vcpu_fds);
  // Call periodically; returns the error message when the VM must stop.
  std::optional<std::string> check(double seconds_since_last);

 private:
  std::vector<KvmStats> stats_;
  std::vector<EmulationSample> last_;
};

}  // namespace vmkit
