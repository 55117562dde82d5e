// A `vmkit` subcommand: registered on the root CLI11 app, run when it was the one parsed.
// Each subcommand lives in its own file and exposes one `Command register_<name>(CLI::App&)`.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace vmkit::cli {

struct Command {
  CLI::App* app = nullptr;
  // Returns the process exit code. Errors are printed as one line: "vmkit: error: ...".
  std::function<int()> run;
};

// Prints "vmkit: error: <message>" to stderr and returns 1.
int fail(const std::string& message);

}  // namespace vmkit::cli
