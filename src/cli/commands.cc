#include "cli/commands.h"

namespace vmkit::cli {

std::vector<Command> register_all_commands(CLI::App& app) {
  std::vector<Command> commands;
  (void)app;
  return commands;
}

}  // namespace vmkit::cli
