#include "vmm/pvm_watchdog.h"

#include <fmt/format.h>

namespace vmkit {

namespace {
// A booting Linux guest on VT-x/AMD-V emulates a few thousand instructions a second (MMIO);
// a stock kernel in PVM's emulator runs ~1M a second.
constexpr double kEmulationRateLimit = 200000;
}  // namespace

std::optional<std::string> pvm_emulation_verdict(const EmulationSample& before,
                                                 const EmulationSample& now, double seconds) {
  uint64_t failed = now.failed - before.failed;
  double rate = seconds > 0 ? static_cast<double>(now.emulated - before.emulated) / seconds : 0;
  if (failed == 0 && rate < kEmulationRateLimit) return std::nullopt;
  return fmt::format(
      "the guest kernel is running in KVM's instruction emulator ({:.0f} instructions/s, {} "
      "emulation failures): this host's /dev/kvm is PVM (kvm_pvm), a software hypervisor that "
      "runs only guest kernels built for PVM, and a stock kernel cannot boot on it. Run vmkit on "
      "a host with VT-x or AMD-V, or inside the nested test host (scripts/nested-host/run.sh).",
      rate, now.failed);
}

PvmWatchdog::PvmWatchdog(const std::vector<int>& vcpu_fds) {
  for (int fd : vcpu_fds) {
    auto stats = KvmStats::open(fd);
    if (stats.ok() && stats->has("insn_emulation") && stats->has("insn_emulation_fail")) {
      stats_.push_back(std::move(*stats));
    }
  }
  last_.resize(stats_.size());
}

std::optional<std::string> PvmWatchdog::check(double seconds_since_last) {
  for (size_t i = 0; i < stats_.size(); ++i) {
    auto emulated = stats_[i].read("insn_emulation");
    auto failed = stats_[i].read("insn_emulation_fail");
    if (!emulated.ok() || !failed.ok()) continue;
    EmulationSample now{*emulated, *failed};
    auto verdict = pvm_emulation_verdict(last_[i], now, seconds_since_last);
    last_[i] = now;
    if (verdict) return verdict;
  }
  return std::nullopt;
}

}  // namespace vmkit
