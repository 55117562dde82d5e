#include "cli/commands.h"

namespace vmkit::cli {

std::vector<Command> register_all_commands(CLI::App& app) {
  std::vector<Command> commands;
  commands.push_back(register_disk(app));
  return commands;
}

}  // namespace vmkit::cli
