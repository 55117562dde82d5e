// Every subcommand's registration function. Adding a subcommand: a new file in src/cli/ with
// its register function declared here and called in commands.cc.
#pragma once

#include <vector>

#include "cli/command.h"

namespace vmkit::cli {

std::vector<Command> register_all_commands(CLI::App& app);

Command register_run_command(CLI::App& root);
Command register_host_check_command(CLI::App& root);
Command register_disk_command(CLI::App& root);

}  // namespace vmkit::cli
