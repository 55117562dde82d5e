// Initial state of a vCPU: CPUID and MSRs for every vCPU; registers, segments, FPU and LAPIC
// LINT pins for the boot vCPU (the others wait for INIT/SIPI in the in-kernel LAPIC).
#pragma once

#include <cstdint>
#include <vector>

#include "arch/x86_64/cpuid.h"
#include "arch/x86_64/kernel_loader.h"
#include "base/result.h"
#include "kvm/vcpu.h"

namespace vmkit::x86 {

// The MSRs set at reset (those KVM reports in `supported_msrs`).
std::vector<MsrValue> boot_msrs(const std::vector<uint32_t>& supported_msrs);

Status setup_vcpu_common(const KvmVcpu& vcpu, const CpuidEntries& supported_cpuid,
                         const std::vector<uint32_t>& supported_msrs, uint32_t vcpu_count,
                         const CpuidOptions& cpuid_options);

// Registers and segments for the boot vCPU entering `kernel`.
Status setup_boot_vcpu(const KvmVcpu& vcpu, const LoadedKernel& kernel);

// The segment/register values setup_boot_vcpu applies (for unit tests).
kvm_sregs boot_sregs(const kvm_sregs& initial, BootProtocol protocol);
kvm_regs boot_regs(const LoadedKernel& kernel);

}  // namespace vmkit::x86
