#include "kvm/kvm.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cstdlib>

#include "kvm/uapi.h"

namespace vmkit {

Result<Kvm> Kvm::open(const char* path) {
  int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return Error(std::string(path) +
                       " does not exist: enable virtualization (VT-x/AMD-V) in the firmware "
                       "and load kvm_intel or kvm_amd",
                   err);
    }
    if (err == EACCES || err == EPERM) {
      return Error("no permission to open " + std::string(path) +
                       ": run as root or add your user to the 'kvm' group",
                   err);
    }
    return Error::from_errno("open " + std::string(path), err);
  }
  Kvm kvm{UniqueFd(fd)};
  int version = kvm.api_version();
  if (version != kApiVersion) {
    return Error("KVM API version " + std::to_string(version) + " is not supported (need " +
                 std::to_string(kApiVersion) + ")");
  }
  return kvm;
}

int Kvm::api_version() const {
  return ::ioctl(fd_.get(), KVM_GET_API_VERSION, 0);
}

int Kvm::check_extension(unsigned cap) const {
  int r = ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap);
  return r < 0 ? 0 : r;
}

Status Kvm::require_extension(unsigned cap, const char* name) const {
  if (check_extension(cap) <= 0) {
    return Error(std::string("this host's KVM lacks the capability ") + name);
  }
  return {};
}

Result<CpuidEntries> Kvm::supported_cpuid() const {
  // Grow the buffer until KVM stops answering E2BIG.
  for (uint32_t n = 64; n <= 4096; n *= 2) {
    kvm_uapi::FlexBuffer<kvm_uapi::Cpuid2Header, kvm_cpuid_entry2> buf(n);
    buf.set_header({n, 0});
    if (::ioctl(fd_.get(), kvm_uapi::kGetSupportedCpuid, buf.data()) == 0) {
      CpuidEntries entries;
      for (uint32_t i = 0; i < buf.header().nent; ++i) entries.push_back(buf.entry(i));
      return entries;
    }
    if (errno != E2BIG) return Error::from_errno("KVM_GET_SUPPORTED_CPUID");
  }
  return Error("KVM_GET_SUPPORTED_CPUID: too many entries");
}

Result<std::vector<uint32_t>> Kvm::msr_index_list() const {
  kvm_uapi::MsrListHeader probe{0};
  ::ioctl(fd_.get(), kvm_uapi::kGetMsrIndexList, &probe);  // E2BIG, fills nmsrs
  uint32_t n = probe.nmsrs;
  kvm_uapi::FlexBuffer<kvm_uapi::MsrListHeader, uint32_t> buf(n);
  buf.set_header({n});
  if (::ioctl(fd_.get(), kvm_uapi::kGetMsrIndexList, buf.data()) < 0) {
    return Error::from_errno("KVM_GET_MSR_INDEX_LIST");
  }
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < buf.header().nmsrs && i < n; ++i) out.push_back(buf.entry(i));
  return out;
}

Result<size_t> Kvm::vcpu_mmap_size() const {
  int r = ::ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (r <= 0) return Error::from_errno("KVM_GET_VCPU_MMAP_SIZE");
  return static_cast<size_t>(r);
}

int Kvm::max_vcpus() const {
  int max = check_extension(KVM_CAP_MAX_VCPUS);
  if (max <= 0) max = check_extension(KVM_CAP_NR_VCPUS);
  return max > 0 ? max : 4;
}

}  // namespace vmkit
