// The `vmkit` command line: one binary, one subcommand per job.
#include <pthread.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <vector>

#include "base/log.h"
#include "cli/command.h"
#include "cli/commands.h"

namespace vmkit::cli {

int fail(const std::string& message) {
  std::fprintf(stderr, "vmkit: error: %s\n", message.c_str());
  return 1;
}

namespace {

// vCPU and device I/O threads need little stack; glibc's default is RLIMIT_STACK (8 MiB), and on
// a host with transparent huge pages set to `always` a 2 MiB-aligned 8 MiB stack gets a whole
// huge page on its first touch: 2 MiB resident per thread for a few KiB used. 1 MiB stacks are
// too small to hold a huge page. std::thread takes glibc's process-wide default.
constexpr size_t kThreadStackSize = 1 << 20;

void set_default_thread_stack() {
  pthread_attr_t attr;
  if (::pthread_attr_init(&attr) != 0) return;
  if (::pthread_attr_setstacksize(&attr, kThreadStackSize) == 0) {
    (void)::pthread_setattr_default_np(&attr);
  }
  ::pthread_attr_destroy(&attr);
}

}  // namespace

}  // namespace vmkit::cli

int main(int argc, char** argv) {
  using namespace vmkit::cli;
  set_default_thread_stack();
  CLI::App app("vmkit: a KVM virtual machine monitor and its tools", "vmkit");
  app.require_subcommand(1);
  app.set_version_flag("--version", "vmkit 0.1");
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Print debug messages");

  std::vector<Command> commands = register_all_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, like the rest of vmkit's errors; usage errors exit 2 (as CLI tools do).
    std::fprintf(stderr, "vmkit: error: %s (see 'vmkit --help')\n", e.what());
    return 2;
  }
  if (verbose) vmkit::log::set_level(vmkit::log::Level::kDebug);
  for (auto& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return fail("no command given");
}
