// A KVM vCPU: its fd, the mmap'd kvm_run page, register access and run().
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/mmap.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "kvm/exit.h"
#include "kvm/kvm.h"
#include "kvm/vm.h"

namespace vmkit {

struct MsrValue {
  uint32_t index;
  uint64_t value;
};

class KvmVcpu {
 public:
  static Result<KvmVcpu> create(const Kvm& kvm, const KvmVm& vm, uint32_t id);

  uint32_t id() const { return id_; }
  int fd() const { return fd_.get(); }

  Result<kvm_regs> get_regs() const;
  Status set_regs(const kvm_regs& regs) const;
  Result<kvm_sregs> get_sregs() const;
  Status set_sregs(const kvm_sregs& sregs) const;
  Result<kvm_fpu> get_fpu() const;
  Status set_fpu(const kvm_fpu& fpu) const;
  Status set_cpuid(std::span<const kvm_cpuid_entry2> entries) const;
  Status set_msrs(std::span<const MsrValue> msrs) const;
  Result<std::vector<MsrValue>> get_msrs(std::span<const uint32_t> indices) const;
  Result<kvm_lapic_state> get_lapic() const;
  Status set_lapic(const kvm_lapic_state& lapic) const;
  Status set_mp_state(uint32_t state) const;

  // Runs the vCPU until an exit. EINTR and immediate_exit become ExitInterrupted.
  Result<VcpuExit> run();

  // Makes the next (or current, once signalled) run() return at once: set from any thread,
  // then kick the vCPU thread with a signal. Cleared by the vCPU thread.
  void set_immediate_exit(bool value);

  // Register dump for crash reports: rip, rsp, cr0/3/4, efer, segments.
  std::string dump_registers() const;

 private:
  KvmVcpu(uint32_t id, UniqueFd fd, Mmap run) : id_(id), fd_(std::move(fd)), run_(std::move(run)) {}
  kvm_run* run_struct() const {
    return reinterpret_cast<kvm_run*>(run_.data());  // SAFETY: mmap'd kvm_run page
  }

  uint32_t id_;
  UniqueFd fd_;
  Mmap run_;
};

}  // namespace vmkit
