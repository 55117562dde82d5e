// The fixture of guest tests: checks up front that this machine can run them (a /dev/kvm that
// boots stock kernels, the guest images, the monitor binary) and fails loudly if not; never
// skips.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "guest_process.h"
#include "guest_run.h"
#include "guest_spec.h"

namespace vmkit::guest_test {

// Bounded waits used by the guest tests. The nested host is slow (QEMU boots the stock kernel in
// 7-14 s there): generous, but never unbounded.
inline constexpr Seconds kBootTimeout{90};
inline constexpr Seconds kCommandTimeout{30};
inline constexpr Seconds kExitTimeout{30};

class GuestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    paths_ = GuestPaths::from_environment();
    Status kvm = require_guest_capable_kvm();
    ASSERT_TRUE(kvm.ok()) << kvm.error().message();
    for (auto flavour : {Flavour::kGeneric, Flavour::kCloud}) {
      GuestSpec spec;
      spec.flavour = flavour;
      Status k = require_file(spec.kernel(paths_), "guest kernel");
      ASSERT_TRUE(k.ok()) << k.error().message();
      Status i = require_file(spec.initrd(paths_), "guest initramfs");
      ASSERT_TRUE(i.ok()) << i.error().message();
    }
  }

  GuestPaths paths_;
};

// Values the guest reports about itself (parsed from one shell session).
struct GuestFacts {
  unsigned nproc = 0;
  std::uint64_t mem_total_kib = 0;
  std::string clocksource;
  long long epoch_seconds = 0;
};

// Reads nproc, MemTotal, the clocksource and the time from the guest's shell; the same commands
// whatever the monitor.
Result<GuestFacts> read_guest_facts(GuestProcess& guest);

// The first integer in `text` (a command's output), or an error quoting it.
Result<long long> parse_integer(const std::string& text, const std::string& what);

// MemTotal is what the guest's kernel has left after its own image and reservations: at most the
// memory given, and (for the 256 MiB-4 GiB guests the tests use) no more than 15% + 16 MiB less.
void expect_memory_matches(std::uint64_t mem_total_kib, std::uint64_t memory_mib);

}  // namespace vmkit::guest_test
