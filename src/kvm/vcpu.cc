#include "kvm/vcpu.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "kvm/uapi.h"

namespace vmkit {

namespace {
template <typename T>
Status vcpu_ioctl(int fd, unsigned long request, T* arg, const char* name) {
  if (::ioctl(fd, request, arg) < 0) return Error::from_errno(name);
  return {};
}
}  // namespace

Result<KvmVcpu> KvmVcpu::create(const Kvm& kvm, const KvmVm& vm, uint32_t id) {
  int fd = ::ioctl(vm.fd(), KVM_CREATE_VCPU, static_cast<unsigned long>(id));
  if (fd < 0) return Error::from_errno("KVM_CREATE_VCPU " + std::to_string(id));
  UniqueFd vcpu_fd(fd);
  size_t size = TRY(kvm.vcpu_mmap_size());
  Mmap run = TRY(Mmap::file(vcpu_fd.get(), size, PROT_READ | PROT_WRITE));
  return KvmVcpu(id, std::move(vcpu_fd), std::move(run));
}

Result<kvm_regs> KvmVcpu::get_regs() const {
  kvm_regs regs{};
  TRY(vcpu_ioctl(fd_.get(), KVM_GET_REGS, &regs, "KVM_GET_REGS"));
  return regs;
}
Status KvmVcpu::set_regs(const kvm_regs& regs) const {
  kvm_regs copy = regs;
  return vcpu_ioctl(fd_.get(), KVM_SET_REGS, &copy, "KVM_SET_REGS");
}
Result<kvm_sregs> KvmVcpu::get_sregs() const {
  kvm_sregs sregs{};
  TRY(vcpu_ioctl(fd_.get(), KVM_GET_SREGS, &sregs, "KVM_GET_SREGS"));
  return sregs;
}
Status KvmVcpu::set_sregs(const kvm_sregs& sregs) const {
  kvm_sregs copy = sregs;
  return vcpu_ioctl(fd_.get(), KVM_SET_SREGS, &copy, "KVM_SET_SREGS");
}
Result<kvm_fpu> KvmVcpu::get_fpu() const {
  kvm_fpu fpu{};
  TRY(vcpu_ioctl(fd_.get(), KVM_GET_FPU, &fpu, "KVM_GET_FPU"));
  return fpu;
}
Status KvmVcpu::set_fpu(const kvm_fpu& fpu) const {
  kvm_fpu copy = fpu;
  return vcpu_ioctl(fd_.get(), KVM_SET_FPU, &copy, "KVM_SET_FPU");
}
Result<kvm_lapic_state> KvmVcpu::get_lapic() const {
  kvm_lapic_state lapic{};
  TRY(vcpu_ioctl(fd_.get(), KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC"));
  return lapic;
}
Status KvmVcpu::set_lapic(const kvm_lapic_state& lapic) const {
  kvm_lapic_state copy = lapic;
  return vcpu_ioctl(fd_.get(), KVM_SET_LAPIC, &copy, "KVM_SET_LAPIC");
}
Status KvmVcpu::set_mp_state(uint32_t state) const {
  kvm_mp_state mp{};
  mp.mp_state = state;
  return vcpu_ioctl(fd_.get(), KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE");
}

Status KvmVcpu::set_cpuid(std::span<const kvm_cpuid_entry2> entries) const {
  kvm_uapi::FlexBuffer<kvm_uapi::Cpuid2Header, kvm_cpuid_entry2> buf(entries.size());
  buf.set_header({static_cast<uint32_t>(entries.size()), 0});
  for (size_t i = 0; i < entries.size(); ++i) buf.set_entry(i, entries[i]);
  if (::ioctl(fd_.get(), kvm_uapi::kSetCpuid2, buf.data()) < 0) {
    return Error::from_errno("KVM_SET_CPUID2");
  }
  return {};
}

Status KvmVcpu::set_msrs(std::span<const MsrValue> msrs) const {
  kvm_uapi::FlexBuffer<kvm_uapi::MsrsHeader, kvm_msr_entry> buf(msrs.size());
  buf.set_header({static_cast<uint32_t>(msrs.size()), 0});
  for (size_t i = 0; i < msrs.size(); ++i) {
    kvm_msr_entry e{};
    e.index = msrs[i].index;
    e.data = msrs[i].value;
    buf.set_entry(i, e);
  }
  int r = ::ioctl(fd_.get(), kvm_uapi::kSetMsrs, buf.data());
  if (r < 0) return Error::from_errno("KVM_SET_MSRS");
  if (static_cast<size_t>(r) != msrs.size()) {
    return Error(
        fmt::format("KVM_SET_MSRS: MSR {:#x} was refused", msrs[static_cast<size_t>(r)].index));
  }
  return {};
}

Result<std::vector<MsrValue>> KvmVcpu::get_msrs(std::span<const uint32_t> indices) const {
  kvm_uapi::FlexBuffer<kvm_uapi::MsrsHeader, kvm_msr_entry> buf(indices.size());
  buf.set_header({static_cast<uint32_t>(indices.size()), 0});
  for (size_t i = 0; i < indices.size(); ++i) {
    kvm_msr_entry e{};
    e.index = indices[i];
    buf.set_entry(i, e);
  }
  int r = ::ioctl(fd_.get(), kvm_uapi::kGetMsrs, buf.data());
  if (r < 0) return Error::from_errno("KVM_GET_MSRS");
  std::vector<MsrValue> out;
  for (size_t i = 0; i < static_cast<size_t>(r); ++i) {
    kvm_msr_entry e = buf.entry(i);
    out.push_back({e.index, e.data});
  }
  return out;
}

Result<VcpuExit> KvmVcpu::run() {
  if (::ioctl(fd_.get(), KVM_RUN, 0) < 0) {
    if (errno == EINTR || errno == EAGAIN) return VcpuExit{ExitInterrupted{}};
    return Error::from_errno("KVM_RUN on vCPU " + std::to_string(id_));
  }
  return decode_exit(run_struct(), run_.size());
}

void KvmVcpu::set_immediate_exit(bool value) {
  std::atomic_ref<uint8_t>(run_struct()->immediate_exit).store(value ? 1 : 0);
}

std::string KvmVcpu::dump_registers() const {
  auto regs = get_regs();
  auto sregs = get_sregs();
  if (!regs.ok() || !sregs.ok()) return "(registers unavailable)";
  const kvm_regs& r = *regs;
  const kvm_sregs& s = *sregs;
  std::string text = fmt::format(
      "vCPU {}: rip={:#018x} rsp={:#018x} rflags={:#x}\n"
      "  rax={:#x} rbx={:#x} rcx={:#x} rdx={:#x} rsi={:#x} rdi={:#x} rbp={:#x}\n"
      "  cr0={:#x} cr2={:#x} cr3={:#x} cr4={:#x} efer={:#x}\n"
      "  cs={:#x} base={:#x} l={} db={} ss={:#x} ds={:#x}",
      id_, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, s.cr0, s.cr2,
      s.cr3, s.cr4, s.efer, s.cs.selector, s.cs.base, s.cs.l, s.cs.db, s.ss.selector,
      s.ds.selector);
  // KVM on AMD re-initialises a vCPU after a shutdown intercept (the VMCB is undefined then).
  if (r.rip == 0xfff0 && s.cs.selector == 0xf000 && s.cs.base == 0xffff0000) {
    text +=
        "\n  (the x86 reset state: KVM on AMD re-initialises the vCPU on a triple fault, so "
        "the state at the fault is lost)";
  }
  return text;
}

}  // namespace vmkit
