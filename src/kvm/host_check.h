// What this host offers for running VMs, like libvirt's virt-host-validate: CPU virtualization
// (VT-x, AMD-V), PVM, /dev/kvm access, the API version and capabilities vmkit needs, nesting.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vmkit {

struct HostCheck {
  enum class Status { kPass, kWarn, kFail, kInfo };
  std::string name;   // stable id for --json, e.g. "kvm_device"
  std::string title;  // "Checking if /dev/kvm is accessible"
  Status status;
  std::string detail;  // the value found, or what to do
};

// Runs every check against the live host. `kvm_path` is normally /dev/kvm.
std::vector<HostCheck> run_host_checks(const char* kvm_path = "/dev/kvm");

// True when every check passed or only warned.
bool host_can_run_vms(const std::vector<HostCheck>& checks);

// The CPU flags of the first processor in /proc/cpuinfo text.
std::vector<std::string> parse_cpu_flags(std::string_view cpuinfo);

const char* status_name(HostCheck::Status status);

}  // namespace vmkit
