// What to boot and how: the paths of the vmkit binary, the guest kernels and initramfs (from the
// environment, with defaults compiled in by CMake), and the command lines of the monitors under
// test (vmkit) or used for comparison and for the harness's own checks (QEMU).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace vmkit::guest_test {

// Paths the guest tests use. Each comes from an environment variable, else CMake's default:
//   VMKIT_BINARY        the vmkit binary (<build>/vmkit)
//   VMKIT_KERNEL        Debian's generic kernel   ($VMKIT_CACHE/kernel/vmlinuz)
//   VMKIT_INITRD        its guest initramfs       ($VMKIT_CACHE/images/initramfs.cpio.gz)
//   VMKIT_KERNEL_CLOUD  Debian's cloud kernel     ($VMKIT_CACHE/kernel-cloud/vmlinuz)
//   VMKIT_INITRD_CLOUD  its guest initramfs       ($VMKIT_CACHE/images/initramfs-cloud.cpio.gz)
//   VMKIT_ROOTFS        busybox ext4 root         ($VMKIT_CACHE/images/rootfs-busybox.ext4)
//   VMKIT_ROOTFS_DEBIAN Debian minbase ext4 root  ($VMKIT_CACHE/images/rootfs-debian.ext4)
//   VMKIT_QEMU          the QEMU binary           (qemu-system-x86_64)
struct GuestPaths {
  std::string vmkit;
  std::string kernel;
  std::string initrd;
  std::string kernel_cloud;
  std::string initrd_cloud;
  std::string rootfs;
  std::string rootfs_debian;
  std::string qemu;

  static GuestPaths from_environment();
};

// Copies the image at `from` to a new file in $TMPDIR (or /tmp) and returns its path.
Result<std::string> copy_image(const std::string& from);

// Fails with a message naming the variable and how to fix it if `path` is not a readable file.
Status require_file(const std::string& path, const std::string& what);

// Fails unless this machine's /dev/kvm can run stock Linux guests: /dev/kvm must open read-write,
// and a PVM host (kvm_pvm) must not be used: guest tests run inside the nested test host.
Status require_guest_capable_kvm();

enum class Flavour { kGeneric, kCloud };

// A virtio-blk disk beyond GuestSpec::disk: `--disk path=P,format=F[,readonly=on][,serial=S]
// [,queues=N]` for vmkit, `-drive file=P,if=virtio,format=F[,readonly=on][,serial=S]` for QEMU.
struct DiskSpec {
  std::string path;
  std::string format = "raw";
  bool read_only = false;
  std::string serial;
  unsigned queues = 0;  // 0: the monitor's default
};

// One guest boot. The kernel command line always starts with the console and panic settings the
// harness relies on; `extra_cmdline` is appended.
struct GuestSpec {
  Flavour flavour = Flavour::kGeneric;
  unsigned cpus = 1;
  std::uint64_t memory_mib = 512;
  std::string extra_cmdline;
  bool no_reboot = true;
  bool quiet = true;  // `quiet` on the guest kernel command line (faster over the serial port)
  // A raw disk image attached as the first virtio-blk disk (/dev/vda), read-write: tests attach
  // a copy (copy_image), never the cached template.
  std::string disk;
  // Further disks, after `disk` (so /dev/vdb, ... when `disk` is set, else from /dev/vda).
  std::vector<DiskSpec> disks;
  // vmkit only: `--virtio-console VALUE` (e.g. unix:PATH) when not empty, and `--no-rng`.
  std::string virtio_console;
  bool rng = true;

  std::string kernel(const GuestPaths& paths) const;
  std::string initrd(const GuestPaths& paths) const;
  std::string cmdline() const;
};

// `vmkit run --kernel K --initrd I --cmdline C --memory NM --cpus N [--no-reboot] [--disk ...]
// [--virtio-console V] [--no-rng]`, console on stdio.
std::vector<std::string> vmkit_command(const GuestPaths& paths, const GuestSpec& spec);

// QEMU with KVM, no firmware console, no default devices, the serial console on stdio.
enum class QemuMachine { kQ35, kMicrovm };
std::vector<std::string> qemu_command(const GuestPaths& paths, const GuestSpec& spec,
                                      QemuMachine machine = QemuMachine::kQ35);

}  // namespace vmkit::guest_test
