// main() of every guest test program: GoogleTest plus the retry summary. SIGPIPE is ignored so
// typing into a monitor that died is an error value, not the end of the test program.
#include <gtest/gtest.h>

#include <csignal>

#include "guest_run.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  ::testing::InitGoogleTest(&argc, argv);
  vmkit::guest_test::install_retry_summary();
  return RUN_ALL_TESTS();
}
