// /dev/kvm: the system handle, capability checks and host-wide queries.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace vmkit {

// CPUID entries in the layout KVM_{GET_SUPPORTED,SET}_CPUID2 use.
using CpuidEntries = std::vector<kvm_cpuid_entry2>;

class Kvm {
 public:
  static constexpr int kApiVersion = 12;
  static constexpr const char* kDevicePath = "/dev/kvm";

  // Opens /dev/kvm and checks the API version. Errors name the cause (missing device,
  // permission, wrong version) and what to do.
  static Result<Kvm> open(const char* path = kDevicePath);

  int fd() const { return fd_.get(); }
  int api_version() const;
  // KVM_CHECK_EXTENSION: 0 when absent, otherwise the capability's value.
  int check_extension(unsigned cap) const;
  // Fails with a message naming the capability when it is absent.
  Status require_extension(unsigned cap, const char* name) const;

  Result<CpuidEntries> supported_cpuid() const;
  Result<std::vector<uint32_t>> msr_index_list() const;
  Result<size_t> vcpu_mmap_size() const;
  // Recommended and maximum vCPU counts for one VM.
  int max_vcpus() const;

 private:
  explicit Kvm(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace vmkit
