#include "vmm/pvm_watchdog.h"

#include <gtest/gtest.h>

namespace vmkit {
namespace {

TEST(PvmVerdict, QuietGuestPasses) {
  EXPECT_FALSE(pvm_emulation_verdict({0, 0}, {5000, 0}, 0.5));
}

TEST(PvmVerdict, EmulationFailureStops) {
  auto v = pvm_emulation_verdict({100, 0}, {120, 1}, 0.5);
  ASSERT_TRUE(v);
  EXPECT_NE(v->find("PVM"), std::string::npos);
}

TEST(PvmVerdict, EmulationFloodStops) {
  // ~700k instructions/s: what a stock kernel does in PVM's emulator here.
  EXPECT_TRUE(pvm_emulation_verdict({0, 0}, {350000, 0}, 0.5));
}

}  // namespace
}  // namespace vmkit
