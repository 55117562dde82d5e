// Host-side helpers for guest tests that exchange data with the guest through disk images:
// running a shell command on the host (qemu-img, dd, sha256sum, ...), checksums of image
// regions, allocated sizes, and scratch directories that are removed when the test ends.
//
// Scratch files live under the build directory by default ($VMKIT_GUEST_SCRATCH, else
// <build>/guest-tests/scratch): the nested test host's /tmp is a fresh tmpfs in its RAM, while the
// build directory is shared read-write with the machine. That share (9p) cannot punch holes, so
// tests that need hole punching ask for punch_capable_root() instead.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace vmkit::guest_test {

// Runs `command` with sh -c on the host; stdout and stderr together, and the exit status
// (-1 if it did not exit normally).
struct HostShellResult {
  int status = -1;
  std::string output;
};
HostShellResult host_shell(const std::string& command);
// host_shell() that fails (quoting the command and its output) unless the status is 0.
Result<std::string> host_shell_ok(const std::string& command);

// Quotes `text` for sh.
std::string sh_quote(const std::string& text);

// A shell pipeline printing the SHA-256 (64 hex digits) of `count` MiB of `file` from MiB `skip`;
// the same text runs on the host (GNU dd) and in the guest (busybox dd). `direct` reads with
// O_DIRECT. count = 0 means to the end.
std::string sha256_command(const std::string& file, std::uint64_t skip_mib, std::uint64_t count_mib,
                           bool direct = false);
// The first 64 hex digits in `text`, or an error quoting it.
Result<std::string> parse_sha256(const std::string& text, const std::string& what);
// Runs sha256_command on the host.
Result<std::string> host_sha256(const std::string& file, std::uint64_t skip_mib,
                                std::uint64_t count_mib);

// The bytes the file system has allocated to `path` (st_blocks * 512).
Result<std::uint64_t> allocated_bytes(const std::string& path);

// Where scratch directories are made by default (see above).
std::string scratch_root();
// A directory under scratch_root() (created if missing) or $TMPDIR or /var/tmp whose file system
// punches holes (fallocate PUNCH_HOLE), else an error naming the directories tried.
Result<std::string> punch_capable_root();

// A fresh directory under `root`, removed with its contents when the object goes away.
class ScratchDir {
 public:
  static Result<ScratchDir> create(const std::string& root, const std::string& prefix);
  ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ScratchDir& operator=(ScratchDir&&) = delete;
  ScratchDir(const ScratchDir&) = delete;
  ~ScratchDir();
  const std::string& path() const { return path_; }
  // path()/name
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace vmkit::guest_test
