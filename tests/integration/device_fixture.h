// The fixture shared by the device and disk guest tests (devices_test.cc, disk_test.cc): vmkit
// boots the cloud kernel (its virtio drivers are modules the initramfs loads, like the generic
// kernel's, and it boots faster), a scratch directory holds the test's images and goes away with
// the test, and helpers boot to a shell and power off.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>

#include "harness/guest_test.h"
#include "harness/host_tools.h"

namespace vmkit::guest_test {

class DeviceGuestTest : public GuestTest {
 protected:
  void SetUp() override {
    GuestTest::SetUp();
    if (HasFatalFailure()) return;
    Status vmkit = require_file(paths_.vmkit, "vmkit binary (VMKIT_BINARY)");
    ASSERT_TRUE(vmkit.ok()) << vmkit.error().message();
    auto dir = ScratchDir::create(scratch_root(), "devices");
    ASSERT_TRUE(dir.ok()) << dir.error().message();
    scratch_.emplace(std::move(*dir));
  }
  void TearDown() override { scratch_.reset(); }

  // The cloud kernel, 1 vCPU, 256 MiB.
  static GuestSpec base_spec() {
    GuestSpec spec;
    spec.flavour = Flavour::kCloud;
    spec.memory_mib = 256;
    return spec;
  }

  std::string file(const std::string& name) const { return scratch_->file(name); }

  // A sparse raw image of `mib` MiB in the scratch directory.
  Result<std::string> make_raw(const std::string& name, std::uint64_t mib) {
    std::string path = file(name);
    TRY(host_shell_ok(fmt::format("truncate -s {}M {}", mib, sh_quote(path))));
    return path;
  }
  // Fills MiB [skip, skip + count) of `path` with random bytes; returns their SHA-256.
  static Result<std::string> fill_random(const std::string& path, std::uint64_t skip_mib,
                                         std::uint64_t count_mib) {
    TRY(host_shell_ok(fmt::format(
        "dd if=/dev/urandom of={} bs=1M seek={} count={} iflag=fullblock conv=notrunc status=none",
        sh_quote(path), skip_mib, count_mib)));
    return host_sha256(path, skip_mib, count_mib);
  }

  // Boots `spec` under vmkit up to a ready shell on the serial console.
  Result<GuestProcess*> boot(GuestAttempt& attempt, const GuestSpec& spec) {
    GuestProcess* guest = TRY(attempt.start(vmkit_command(paths_, spec), "vmkit"));
    TRY(guest->wait_for_text("VMKIT-GUEST-READY", kBootTimeout));
    TRY(guest->wait_for_shell(kCommandTimeout));
    return guest;
  }

  // Runs `command` in the guest and returns the SHA-256 it prints.
  static Result<std::string> guest_sha256(GuestProcess& guest, const std::string& command,
                                          Seconds timeout = kCommandTimeout) {
    std::string out = TRY(guest.run_ok(command, timeout));
    return parse_sha256(out, "`" + command + "` in the guest");
  }

  // `poweroff` in the guest's shell; vmkit's exit status.
  static Result<ExitStatus> power_off(GuestProcess& guest) {
    TRY(guest.type("poweroff\n"));
    TRY(guest.wait_for_text("VMKIT-POWEROFF", kExitTimeout));
    return guest.wait_exit(kExitTimeout);
  }

  std::optional<ScratchDir> scratch_;
};

// Guest: writes `mib` MiB of fresh random bytes to `device` at MiB `seek` with dd `flags`, then
// prints their SHA-256.
inline std::string guest_write_random(const std::string& device, std::uint64_t seek,
                                      std::uint64_t mib, const std::string& flags) {
  return fmt::format(
      "head -c {0} /dev/urandom > /tmp/pattern && "
      "dd if=/tmp/pattern of={1} bs=1M seek={2} conv=notrunc status=none {3} && "
      "sha256sum < /tmp/pattern && rm /tmp/pattern",
      mib << 20, device, seek, flags);
}

// A disk for GuestSpec::disks.
inline DiskSpec disk(const std::string& path, const std::string& format = "raw") {
  DiskSpec d;
  d.path = path;
  d.format = format;
  return d;
}

// The value, or the error in angle brackets: for EXPECT_EQ against a value computed on the host.
inline std::string shown(const Result<std::string>& r) {
  return r.ok() ? r.value() : "<" + r.error().message() + ">";
}

// Counts the lines of `text` equal to `line`.
inline int count_lines(const std::string& text, const std::string& line) {
  int n = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (text.compare(start, end - start, line) == 0) ++n;
    start = end + 1;
  }
  return n;
}

}  // namespace vmkit::guest_test
