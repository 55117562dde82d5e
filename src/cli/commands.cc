#include "cli/commands.h"

namespace vmkit::cli {

std::vector<Command> register_all_commands(CLI::App& app) {
  std::vector<Command> commands;
  commands.push_back(register_run_command(app));
  commands.push_back(register_host_check_command(app));
  commands.push_back(register_disk_command(app));
  return commands;
}

}  // namespace vmkit::cli
