// The CPUID a vCPU sees: what KVM supports, with a consistent topology (one socket, N cores,
// one thread each; APIC ID = vCPU index), the hypervisor bit and KVM's paravirt leaves.
#pragma once

#include <cstdint>

#include "kvm/kvm.h"

namespace vmkit::x86 {

enum class CpuVendor { kIntel, kAmd, kOther };

CpuVendor cpu_vendor(const CpuidEntries& entries);

struct CpuidOptions {
  // The in-kernel LAPIC emulates the TSC-deadline timer (KVM_CAP_TSC_DEADLINE_TIMER), but
  // KVM_GET_SUPPORTED_CPUID does not report it: set CPUID.1:ECX[24] so the guest uses it (and
  // skips calibrating the LAPIC timer against the PIT at boot).
  bool tsc_deadline = false;
};

// Returns the entries for vCPU `index` of `count`.
CpuidEntries build_vcpu_cpuid(const CpuidEntries& supported, uint32_t index, uint32_t count,
                              const CpuidOptions& options = {});

// Finds a leaf/subleaf, or nullptr.
const kvm_cpuid_entry2* find_cpuid(const CpuidEntries& entries, uint32_t function,
                                   uint32_t index = 0);

}  // namespace vmkit::x86
