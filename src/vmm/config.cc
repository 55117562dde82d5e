#include "vmm/config.h"

#include <sys/sysinfo.h>
#include <unistd.h>

#include "base/size.h"

namespace vmkit {

Result<ConsoleSpec> ConsoleSpec::parse(std::string_view text) {
  ConsoleSpec spec;
  auto with_path = [&](std::string_view prefix, Kind wanted) -> bool {
    if (text.substr(0, prefix.size()) != prefix) return false;
    spec.kind = wanted;
    spec.path = std::string(text.substr(prefix.size()));
    return true;
  };
  if (text == "stdio") {
    spec.kind = Kind::kStdio;
  } else if (text == "pty") {
    spec.kind = Kind::kPty;
  } else if (text == "none") {
    spec.kind = Kind::kNone;
  } else if (with_path("file:", Kind::kFile) || with_path("unix:", Kind::kUnix)) {
    if (spec.path.empty()) return Error("--console " + std::string(text) + ": missing path");
  } else {
    return Error("--console '" + std::string(text) +
                 "': expected stdio, pty, file:PATH, unix:PATH or none");
  }
  return spec;
}

HostLimits read_host_limits(int kvm_max_vcpus) {
  HostLimits limits;
  struct sysinfo info {};
  if (::sysinfo(&info) == 0) limits.ram_bytes = uint64_t{info.totalram} * info.mem_unit;
  limits.max_vcpus = kvm_max_vcpus > 0 ? static_cast<uint32_t>(kvm_max_vcpus) : 1;
  return limits;
}

Status validate_config(const VmConfig& c, const HostLimits& limits) {
  if (c.kernel.empty()) return Error("no kernel given (--kernel PATH)");
  if (::access(c.kernel.c_str(), R_OK) != 0) return Error::from_errno("kernel " + c.kernel);
  if (!c.initrd.empty() && ::access(c.initrd.c_str(), R_OK) != 0) {
    return Error::from_errno("initrd " + c.initrd);
  }
  if (c.memory_size == 0) return Error("--memory must be more than 0");
  if (c.memory_size < (16ull << 20)) {
    return Error("--memory " + format_size(c.memory_size) + " is too small: at least 16M");
  }
  if (c.memory_size % 4096) return Error("--memory must be a multiple of 4K");
  if (limits.ram_bytes && c.memory_size > limits.ram_bytes) {
    return Error("--memory " + format_size(c.memory_size) + " is more than this host's RAM (" +
                 format_size(limits.ram_bytes / (1 << 20) * (1 << 20)) + ")");
  }
  if (c.console.kind == ConsoleSpec::Kind::kStdio &&
      c.virtio_console.kind == ConsoleSpec::Kind::kStdio) {
    return Error("--console and --virtio-console cannot both be stdio");
  }
  if (c.console.kind == ConsoleSpec::Kind::kUnix &&
      c.virtio_console.kind == ConsoleSpec::Kind::kUnix &&
      c.console.path == c.virtio_console.path) {
    return Error("--console and --virtio-console use the same socket " + c.console.path);
  }
  for (const auto& d : c.disks) {
    if (::access(d.path.c_str(), d.read_only ? R_OK : R_OK | W_OK) != 0) {
      return Error::from_errno("--disk " + d.path);
    }
  }
  if (c.disks.size() > 24) return Error("at most 24 disks are supported");
  if (c.cpus == 0) return Error("--cpus must be at least 1");
  if (c.cpus > limits.max_vcpus) {
    return Error("--cpus " + std::to_string(c.cpus) + " is more than KVM allows on this host (" +
                 std::to_string(limits.max_vcpus) + ")");
  }
  return {};
}

}  // namespace vmkit
