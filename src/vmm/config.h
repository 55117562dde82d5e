// What a VM is made of, as the command line (or later the API) gives it, and its validation.
// Validation happens before anything is created, so bad input leaves nothing behind.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/uuid.h"
#include "devices/virtio/blk/block_options.h"
#include "net/net_options.h"

namespace vmkit {

struct ConsoleSpec {
  enum class Kind { kStdio, kPty, kFile, kUnix, kNone };
  Kind kind = Kind::kStdio;
  std::string path;  // kFile, kUnix

  // "stdio", "pty", "file:PATH", "unix:PATH", "none".
  static Result<ConsoleSpec> parse(std::string_view text);
};

struct VmConfig {
  std::string kernel;
  std::string initrd;  // empty: none
  std::string cmdline = "console=ttyS0";
  uint64_t memory_size = 512ull << 20;
  uint32_t cpus = 1;
  ConsoleSpec console;
  bool no_reboot = false;
  uint32_t shutdown_timeout_s = 30;  // after SIGTERM, before the guest is stopped
  std::vector<BlockOptions> disks;   // virtio-blk: /dev/vda, vdb, ... in this order
  std::vector<NetOptions> nets;      // virtio-net cards, MACs fixed (kept across reboots)
  bool rng = true;                   // virtio-rng (the guest's /dev/hwrng)
  ConsoleSpec virtio_console{ConsoleSpec::Kind::kNone, {}};  // virtio-console: the guest's hvc0
  std::string name = "vmkit";                                // SMBIOS product name
  Uuid uuid = Uuid::random();  // SMBIOS system UUID (/sys/class/dmi/id/product_uuid)
};

// Host facts validation needs (read from the running host; tests pass their own).
struct HostLimits {
  uint64_t ram_bytes = 0;
  uint32_t max_vcpus = 0;
};

HostLimits read_host_limits(int kvm_max_vcpus);

// Checks sizes, counts and that the files exist and are readable.
Status validate_config(const VmConfig& config, const HostLimits& limits);

// Process exit codes of `vmkit run` (documented in docs/ARCHITECTURE.md and `vmkit run --help`).
enum ExitCode : int {
  kExitPoweroff = 0,
  kExitError = 1,
  kExitUsage = 2,
  kExitRebootRequested = 3,  // guest rebooted and --no-reboot was given
  kExitShutdownTimeout = 4,  // guest ignored the power button and was stopped
};

}  // namespace vmkit
