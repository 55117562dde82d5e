// `vmkit disk`: the image tool (create, info, check, convert, resize), like qemu-img.
#pragma once

#include <string>

#include "cli/command.h"

namespace vmkit::cli {

Command register_disk_command(CLI::App& app);

// The subcommands (disk_command.cc, disk_info.cc); each returns the process exit code.
struct DiskInfoArgs {
  std::string file;
  std::string format;
  bool json = false;
};
int run_disk_info(const DiskInfoArgs& args);

struct DiskCheckArgs {
  std::string file;
  std::string format;
  bool repair = false;
};
int run_disk_check(const DiskCheckArgs& args);

}  // namespace vmkit::cli
