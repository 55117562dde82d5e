#include "arch/x86_64/cpuid.h"

#include <bit>
#include <cstring>

namespace vmkit::x86 {
namespace {

constexpr uint32_t kLeaf1EcxHypervisor = 1u << 31;
constexpr uint32_t kLeaf1EdxHtt = 1u << 28;
constexpr uint32_t kLeaf1EcxTscDeadline = 1u << 24;
constexpr uint32_t kExt1EcxCmpLegacy = 1u << 1;

// Bits needed to hold `count` distinct IDs.
uint32_t id_bits(uint32_t count) {
  return count <= 1 ? 0 : static_cast<uint32_t>(std::bit_width(count - 1));
}

}  // namespace

const kvm_cpuid_entry2* find_cpuid(const CpuidEntries& entries, uint32_t function, uint32_t index) {
  for (const auto& e : entries) {
    if (e.function == function &&
        (!(e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e.index == index)) {
      return &e;
    }
  }
  return nullptr;
}

CpuVendor cpu_vendor(const CpuidEntries& entries) {
  const kvm_cpuid_entry2* leaf0 = find_cpuid(entries, 0);
  if (!leaf0) return CpuVendor::kOther;
  char vendor[13] = {};
  std::memcpy(vendor, &leaf0->ebx, 4);
  std::memcpy(vendor + 4, &leaf0->edx, 4);
  std::memcpy(vendor + 8, &leaf0->ecx, 4);
  if (std::strcmp(vendor, "GenuineIntel") == 0) return CpuVendor::kIntel;
  if (std::strcmp(vendor, "AuthenticAMD") == 0 || std::strcmp(vendor, "HygonGenuine") == 0) {
    return CpuVendor::kAmd;
  }
  return CpuVendor::kOther;
}

CpuidEntries build_vcpu_cpuid(const CpuidEntries& supported, uint32_t index, uint32_t count,
                              const CpuidOptions& options) {
  CpuidEntries out = supported;
  const uint32_t core_bits = id_bits(count);
  const CpuVendor vendor = cpu_vendor(supported);
  for (auto& e : out) {
    switch (e.function) {
      case 0x1:
        // EBX[31:24] initial APIC ID, EBX[23:16] logical processors per package.
        e.ebx = (e.ebx & 0x0000ffffu) | (index << 24) | ((1u << core_bits) << 16);
        e.ecx |= kLeaf1EcxHypervisor;
        if (options.tsc_deadline) e.ecx |= kLeaf1EcxTscDeadline;
        if (count > 1) {
          e.edx |= kLeaf1EdxHtt;
        } else {
          e.edx &= ~kLeaf1EdxHtt;
        }
        break;
      case 0x4:
        // Deterministic cache parameters (Intel): cores per package, one thread per core.
        if (vendor == CpuVendor::kIntel) {
          e.eax &= 0x3fffu;
          e.eax |= ((1u << core_bits) - 1) << 26;
        }
        break;
      case 0x6:
        e.ecx &= ~1u;  // no APERF/MPERF: they are not virtualized
        break;
      case 0xb:
      case 0x1f:
        // Extended topology: level 0 = SMT (1 thread), level 1 = core (all vCPUs).
        e.edx = index;
        if (e.index == 0) {
          e.eax = 0;
          e.ebx = 1;
          e.ecx = (1u << 8) | 0;
        } else if (e.index == 1) {
          e.eax = core_bits;
          e.ebx = count;
          e.ecx = (2u << 8) | 1;
        } else {
          e.eax = 0;
          e.ebx = 0;
          e.ecx = e.index;
        }
        break;
      case 0x80000001:
        if (vendor == CpuVendor::kAmd) {
          if (count > 1) {
            e.ecx |= kExt1EcxCmpLegacy;
          } else {
            e.ecx &= ~kExt1EcxCmpLegacy;
          }
        }
        break;
      case 0x80000008:
        if (vendor == CpuVendor::kAmd) {
          // ECX[15:12] APIC ID size, ECX[7:0] number of cores - 1.
          e.ecx = (core_bits << 12) | (count - 1);
        }
        break;
      case 0x8000001e:
        if (vendor == CpuVendor::kAmd) {
          e.eax = index;         // extended APIC ID
          e.ebx = index & 0xff;  // core ID, one thread per core
          e.ecx = 0;             // node 0, one node per package
        }
        break;
      default:
        break;
    }
  }
  return out;
}

}  // namespace vmkit::x86
