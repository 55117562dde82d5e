#include "guest_spec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/unique_fd.h"

#ifndef VMKIT_DEFAULT_BINARY
#define VMKIT_DEFAULT_BINARY "vmkit"
#endif
#ifndef VMKIT_DEFAULT_KERNEL
#define VMKIT_DEFAULT_KERNEL ""
#endif
#ifndef VMKIT_DEFAULT_INITRD
#define VMKIT_DEFAULT_INITRD ""
#endif
#ifndef VMKIT_DEFAULT_KERNEL_CLOUD
#define VMKIT_DEFAULT_KERNEL_CLOUD ""
#endif
#ifndef VMKIT_DEFAULT_INITRD_CLOUD
#define VMKIT_DEFAULT_INITRD_CLOUD ""
#endif
#ifndef VMKIT_DEFAULT_ROOTFS
#define VMKIT_DEFAULT_ROOTFS ""
#endif
#ifndef VMKIT_DEFAULT_ROOTFS_DEBIAN
#define VMKIT_DEFAULT_ROOTFS_DEBIAN ""
#endif

namespace vmkit::guest_test {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

GuestPaths GuestPaths::from_environment() {
  GuestPaths p;
  p.vmkit = env_or("VMKIT_BINARY", VMKIT_DEFAULT_BINARY);
  p.kernel = env_or("VMKIT_KERNEL", VMKIT_DEFAULT_KERNEL);
  p.initrd = env_or("VMKIT_INITRD", VMKIT_DEFAULT_INITRD);
  p.kernel_cloud = env_or("VMKIT_KERNEL_CLOUD", VMKIT_DEFAULT_KERNEL_CLOUD);
  p.initrd_cloud = env_or("VMKIT_INITRD_CLOUD", VMKIT_DEFAULT_INITRD_CLOUD);
  p.rootfs = env_or("VMKIT_ROOTFS", VMKIT_DEFAULT_ROOTFS);
  p.rootfs_debian = env_or("VMKIT_ROOTFS_DEBIAN", VMKIT_DEFAULT_ROOTFS_DEBIAN);
  p.qemu = env_or("VMKIT_QEMU", "qemu-system-x86_64");
  return p;
}

Status require_file(const std::string& path, const std::string& what) {
  struct stat st {};
  if (path.empty() || stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      access(path.c_str(), R_OK) != 0) {
    return Error(fmt::format(
        "{} not found at '{}' (set it with the environment variable named in "
        "tests/integration/harness/guest_spec.h, or run scripts/setup.sh to fetch and build the "
        "guest images)",
        what, path));
  }
  return ok_status();
}

Result<std::string> copy_image(const std::string& from) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = fmt::format("{}/vmkit-disk-XXXXXX", tmp != nullptr && *tmp ? tmp : "/tmp");
  UniqueFd out(mkostemp(path.data(), O_CLOEXEC));
  if (!out) return Error::from_errno("mkostemp " + path);
  UniqueFd in(open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) {
    unlink(path.c_str());
    return Error::from_errno("open " + from);
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(in.get(), buf, sizeof buf);
    if (n == 0) break;
    if (n < 0 || write(out.get(), buf, static_cast<std::size_t>(n)) != n) {
      Error e = Error::from_errno("copying " + from + " to " + path);
      unlink(path.c_str());
      return e;
    }
  }
  return path;
}

Status require_guest_capable_kvm() {
  if (access("/sys/module/kvm_pvm", F_OK) == 0) {
    return Error(
        "this machine's /dev/kvm is PVM (kvm_pvm), which cannot boot stock Linux kernels: guest "
        "tests must run inside the nested test host (scripts/test-guests.sh, or "
        "scripts/nested-host/run.sh -- ctest --test-dir BUILD/guest-tests)");
  }
  UniqueFd kvm(open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm) {
    return Error(
        fmt::format("cannot open /dev/kvm: {} (guest tests need KVM; run them in the "
                    "nested test host with scripts/test-guests.sh)",
                    std::strerror(errno)));
  }
  return ok_status();
}

std::string GuestSpec::kernel(const GuestPaths& paths) const {
  return flavour == Flavour::kCloud ? paths.kernel_cloud : paths.kernel;
}

std::string GuestSpec::initrd(const GuestPaths& paths) const {
  return flavour == Flavour::kCloud ? paths.initrd_cloud : paths.initrd;
}

std::string GuestSpec::cmdline() const {
  // panic=-1: a guest panic reboots at once (and ends the monitor with no-reboot) instead of
  // hanging until a timeout.
  std::string c = "console=ttyS0 panic=-1";
  if (quiet) c += " quiet";
  if (!extra_cmdline.empty()) c += " " + extra_cmdline;
  return c;
}

std::vector<std::string> vmkit_command(const GuestPaths& paths, const GuestSpec& spec) {
  std::vector<std::string> argv = {paths.vmkit, "run",
                                   "--kernel",  spec.kernel(paths),
                                   "--initrd",  spec.initrd(paths),
                                   "--cmdline", spec.cmdline(),
                                   "--memory",  fmt::format("{}M", spec.memory_mib),
                                   "--cpus",    std::to_string(spec.cpus),
                                   "--console", "stdio"};
  if (spec.no_reboot) argv.push_back("--no-reboot");
  if (!spec.disk.empty()) argv.insert(argv.end(), {"--disk", "path=" + spec.disk + ",format=raw"});
  for (const DiskSpec& d : spec.disks) {
    std::string options = fmt::format("path={},format={}", d.path, d.format);
    if (d.read_only) options += ",readonly=on";
    if (!d.serial.empty()) options += ",serial=" + d.serial;
    if (d.queues != 0) options += fmt::format(",queues={}", d.queues);
    argv.insert(argv.end(), {"--disk", options});
  }
  if (!spec.virtio_console.empty())
    argv.insert(argv.end(), {"--virtio-console", spec.virtio_console});
  if (!spec.rng) argv.push_back("--no-rng");
  return argv;
}

std::vector<std::string> qemu_command(const GuestPaths& paths, const GuestSpec& spec,
                                      QemuMachine machine) {
  std::vector<std::string> argv = {paths.qemu, "-accel", "kvm", "-cpu", "host"};
  if (machine == QemuMachine::kQ35) {
    argv.insert(argv.end(), {"-M", "q35"});
  } else {
    argv.insert(argv.end(), {"-M", "microvm"});
  }
  argv.insert(argv.end(),
              {"-smp", std::to_string(spec.cpus), "-m", fmt::format("{}M", spec.memory_mib),
               "-nodefaults", "-display", "none", "-serial", "stdio", "-kernel", spec.kernel(paths),
               "-initrd", spec.initrd(paths), "-append", spec.cmdline()});
  if (spec.no_reboot) argv.push_back("-no-reboot");
  if (!spec.disk.empty()) {
    argv.insert(argv.end(), {"-drive", fmt::format("file={},if=virtio,format=raw", spec.disk)});
  }
  for (const DiskSpec& d : spec.disks) {
    std::string options = fmt::format("file={},if=virtio,format={}", d.path, d.format);
    if (d.read_only) options += ",readonly=on";
    if (!d.serial.empty()) options += ",serial=" + d.serial;
    argv.insert(argv.end(), {"-drive", options});
  }
  return argv;
}

}  // namespace vmkit::guest_test
