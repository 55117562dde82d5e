// A network namespace for tests that need real interfaces: created with `ip netns add`, so it
// never touches the host's own network, and always deleted (with everything in it) when the
// object goes away. enter()/leave() move the calling thread in and out; sockets and taps keep
// the namespace they were created in.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "base/unique_fd.h"

namespace vmkit::testing {

class NetNamespace {
 public:
  explicit NetNamespace(std::string prefix)
      : name_(fmt::format("{}-{}", prefix, ::getpid())),
        original_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
    (void)sh(fmt::format("ip netns del {} 2>/dev/null", name_));
    ok_ = sh(fmt::format("ip netns add {}", name_)) == 0 &&
          sh(fmt::format("ip netns exec {} ip link set lo up", name_)) == 0;
  }
  ~NetNamespace() {
    leave();
    (void)sh(fmt::format("ip netns del {} 2>/dev/null", name_));
  }
  NetNamespace(const NetNamespace&) = delete;
  NetNamespace& operator=(const NetNamespace&) = delete;

  bool ok() const { return ok_ && original_.valid(); }
  const std::string& name() const { return name_; }

  bool enter() {
    UniqueFd ns(::open(fmt::format("/run/netns/{}", name_).c_str(), O_RDONLY | O_CLOEXEC));
    inside_ = ns && ::setns(ns.get(), CLONE_NEWNET) == 0;
    return inside_;
  }
  void leave() {
    if (inside_) (void)::setns(original_.get(), CLONE_NEWNET);
    inside_ = false;
  }
  // Runs a shell command inside the namespace; its exit status.
  int exec(const std::string& command) {
    return sh(fmt::format("ip netns exec {} sh -c '{}'", name_, command));
  }

 private:
  static int sh(const std::string& command) {
    int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string name_;
  UniqueFd original_;
  bool ok_ = false;
  bool inside_ = false;
};

}  // namespace vmkit::testing
