#include "vmm/config.h"

#include <gtest/gtest.h>

namespace vmkit {
namespace {

TEST(ConsoleSpec, Parse) {
  EXPECT_EQ(ConsoleSpec::parse("stdio")->kind, ConsoleSpec::Kind::kStdio);
  EXPECT_EQ(ConsoleSpec::parse("pty")->kind, ConsoleSpec::Kind::kPty);
  auto f = ConsoleSpec::parse("file:/tmp/x.log");
  EXPECT_EQ(f->kind, ConsoleSpec::Kind::kFile);
  EXPECT_EQ(f->path, "/tmp/x.log");
  EXPECT_EQ(ConsoleSpec::parse("unix:/run/c.sock")->kind, ConsoleSpec::Kind::kUnix);
  EXPECT_FALSE(ConsoleSpec::parse("file:").ok());
  EXPECT_FALSE(ConsoleSpec::parse("serial").ok());
}

TEST(ValidateConfig, Limits) {
  VmConfig c;
  c.kernel = "/proc/self/exe";  // any readable file
  HostLimits host{8ull << 30, 16};
  EXPECT_TRUE(validate_config(c, host).ok());
  c.memory_size = 0;
  EXPECT_EQ(validate_config(c, host).error().message(), "--memory must be more than 0");
  c.memory_size = 16ull << 30;
  EXPECT_NE(validate_config(c, host).error().message().find("more than this host's RAM"),
            std::string::npos);
  c.memory_size = 1ull << 30;
  c.cpus = 0;
  EXPECT_FALSE(validate_config(c, host).ok());
  c.cpus = 17;
  EXPECT_NE(validate_config(c, host).error().message().find("more than KVM allows"),
            std::string::npos);
  c.cpus = 16;
  c.initrd = "/nonexistent";
  EXPECT_NE(validate_config(c, host).error().message().find("initrd /nonexistent"),
            std::string::npos);
}

}  // namespace
}  // namespace vmkit
