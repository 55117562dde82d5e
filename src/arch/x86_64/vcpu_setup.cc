#include "arch/x86_64/vcpu_setup.h"

#include <algorithm>
#include <cstring>

#include "arch/x86_64/boot_setup.h"
#include "arch/x86_64/cpuid.h"
#include "arch/x86_64/layout.h"

namespace vmkit::x86 {
namespace {

constexpr uint64_t kCr0Pe = 1ull << 0;
constexpr uint64_t kCr0Et = 1ull << 4;
constexpr uint64_t kCr0Pg = 1ull << 31;
constexpr uint64_t kCr4Pae = 1ull << 5;
constexpr uint64_t kEferLme = 1ull << 8;
constexpr uint64_t kEferLma = 1ull << 10;

constexpr uint32_t kApicLvtLint0 = 0x350;
constexpr uint32_t kApicLvtLint1 = 0x360;
constexpr uint32_t kApicModeExtInt = 0x7;
constexpr uint32_t kApicModeNmi = 0x4;

kvm_segment segment(uint16_t selector, uint8_t type, bool code64, bool db, bool system) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = selector;
  s.type = type;
  s.present = 1;
  s.dpl = 0;
  s.db = db ? 1 : 0;
  s.s = system ? 0 : 1;
  s.l = code64 ? 1 : 0;
  s.g = 1;
  return s;
}

uint32_t read_apic_reg(const kvm_lapic_state& lapic, uint32_t offset) {
  uint32_t v;
  std::memcpy(&v, lapic.regs + offset, 4);
  return v;
}
void write_apic_reg(kvm_lapic_state& lapic, uint32_t offset, uint32_t v) {
  std::memcpy(lapic.regs + offset, &v, 4);
}
uint32_t set_delivery_mode(uint32_t reg, uint32_t mode) {
  return (reg & ~0x700u) | (mode << 8);
}

}  // namespace

std::vector<MsrValue> boot_msrs(const std::vector<uint32_t>& supported_msrs) {
  const std::vector<MsrValue> wanted = {
      {0x174, 0},               // IA32_SYSENTER_CS
      {0x175, 0},               // IA32_SYSENTER_ESP
      {0x176, 0},               // IA32_SYSENTER_EIP
      {0xc0000081, 0},          // STAR
      {0xc0000082, 0},          // LSTAR
      {0xc0000083, 0},          // CSTAR
      {0xc0000084, 0},          // SYSCALL_MASK
      {0xc0000102, 0},          // KERNEL_GS_BASE
      {0x10, 0},                // IA32_TSC
      {0x1a0, 1},               // IA32_MISC_ENABLE: fast strings
      {0x2ff, (1u << 11) | 6},  // MTRRdefType: enabled, default write-back
  };
  std::vector<MsrValue> out;
  for (const auto& m : wanted) {
    if (std::find(supported_msrs.begin(), supported_msrs.end(), m.index) != supported_msrs.end()) {
      out.push_back(m);
    }
  }
  return out;
}

Status setup_vcpu_common(const KvmVcpu& vcpu, const CpuidEntries& supported_cpuid,
                         const std::vector<uint32_t>& supported_msrs, uint32_t vcpu_count,
                         const CpuidOptions& cpuid_options) {
  CpuidEntries cpuid = build_vcpu_cpuid(supported_cpuid, vcpu.id(), vcpu_count, cpuid_options);
  TRY(vcpu.set_cpuid(cpuid));
  auto msrs = boot_msrs(supported_msrs);
  TRY(vcpu.set_msrs(msrs));
  // LINT0 receives the PIC's ExtINT, LINT1 NMIs, as firmware sets them up.
  kvm_lapic_state lapic = TRY(vcpu.get_lapic());
  write_apic_reg(lapic, kApicLvtLint0,
                 set_delivery_mode(read_apic_reg(lapic, kApicLvtLint0), kApicModeExtInt));
  write_apic_reg(lapic, kApicLvtLint1,
                 set_delivery_mode(read_apic_reg(lapic, kApicLvtLint1), kApicModeNmi));
  TRY(vcpu.set_lapic(lapic));
  kvm_fpu fpu{};
  fpu.fcw = 0x37f;
  fpu.mxcsr = 0x1f80;
  return vcpu.set_fpu(fpu);
}

kvm_sregs boot_sregs(const kvm_sregs& initial, BootProtocol protocol) {
  kvm_sregs s = initial;
  bool long_mode = protocol == BootProtocol::kLinux64;
  s.cs = segment(kBootCodeSelector, 0xb, long_mode, !long_mode, false);
  kvm_segment data = segment(kBootDataSelector, 0x3, false, true, false);
  s.ds = s.es = s.fs = s.gs = s.ss = data;
  s.tr = segment(kBootTssSelector, 0xb, false, false, true);
  s.gdt.base = kGdtAddress;
  s.gdt.limit = 5 * 8 - 1;
  s.idt.base = kIdtAddress;
  s.idt.limit = 7;
  s.cr0 = kCr0Pe | kCr0Et;
  s.cr4 = 0;
  s.efer = 0;
  if (long_mode) {
    s.cr3 = kPml4Address;
    s.cr4 |= kCr4Pae;
    s.cr0 |= kCr0Pg;
    s.efer |= kEferLme | kEferLma;
  }
  return s;
}

kvm_regs boot_regs(const LoadedKernel& kernel) {
  kvm_regs r{};
  r.rflags = 0x2;
  r.rip = kernel.entry;
  if (kernel.protocol == BootProtocol::kLinux64) {
    r.rsp = kBootStackPointer;
    r.rbp = kBootStackPointer;
    r.rsi = kZeroPageAddress;
  } else {
    r.rbx = kPvhStartInfoAddress;
  }
  return r;
}

Status setup_boot_vcpu(const KvmVcpu& vcpu, const LoadedKernel& kernel) {
  kvm_sregs sregs = TRY(vcpu.get_sregs());
  TRY(vcpu.set_sregs(boot_sregs(sregs, kernel.protocol)));
  return vcpu.set_regs(boot_regs(kernel));
}

}  // namespace vmkit::x86
