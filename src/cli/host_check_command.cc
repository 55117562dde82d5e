// `vmkit host-check`: what this host offers, like virt-host-validate.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "kvm/host_check.h"

namespace vmkit::cli {

Command register_host_check_command(CLI::App& root) {
  auto* app = root.add_subcommand(
      "host-check", "Report what this host offers for running VMs (exit 1 if it cannot)");
  auto json = std::make_shared<bool>(false);
  app->add_flag("--json", *json, "Print the checks as JSON");
  return Command{app, [json]() -> int {
                   auto checks = run_host_checks();
                   bool ok = host_can_run_vms(checks);
                   if (*json) {
                     nlohmann::json out;
                     out["can_run_vms"] = ok;
                     out["checks"] = nlohmann::json::array();
                     for (const auto& c : checks) {
                       out["checks"].push_back({{"name", c.name},
                                                {"title", c.title},
                                                {"status", status_name(c.status)},
                                                {"detail", c.detail}});
                     }
                     std::printf("%s\n", out.dump(2).c_str());
                   } else {
                     for (const auto& c : checks) {
                       std::printf("vmkit: %-48s: %-4s (%s)\n", c.title.c_str(),
                                   status_name(c.status), c.detail.c_str());
                     }
                   }
                   return ok ? 0 : 1;
                 }};
}

}  // namespace vmkit::cli
