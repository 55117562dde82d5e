// `vmkit run`: the monitor in the foreground.
#include <memory>
#include <string>

#include "base/size.h"
#include "cli/commands.h"
#include "kvm/kvm.h"
#include "vmm/config.h"
#include "vmm/runner.h"

namespace vmkit::cli {

Command register_run_command(CLI::App& root) {
  auto* app = root.add_subcommand("run", "Run a virtual machine in the foreground");
  app->footer(
      "The serial console (COM1, the guest's ttyS0) is on the terminal by default; type Ctrl-A x "
      "to quit, Ctrl-A h for help.\n"
      "SIGTERM or SIGINT presses the guest's ACPI power button; a second signal, or the "
      "shutdown timeout, stops the guest.\n"
      "Exit status: 0 guest powered off (or quit from the console), 1 error, 2 bad command "
      "line, 3 guest rebooted with --no-reboot, 4 guest stopped after the shutdown timeout.");
  auto config = std::make_shared<VmConfig>();
  auto memory = std::make_shared<std::string>("512M");
  auto console = std::make_shared<std::string>("stdio");
  auto uuid = std::make_shared<std::string>();
  auto disks = std::make_shared<std::vector<std::string>>();
  auto nets = std::make_shared<std::vector<std::string>>();
  auto hvc = std::make_shared<std::string>("none");
  auto no_rng = std::make_shared<bool>(false);
  app->add_option("--kernel", config->kernel,
                  "Kernel: a bzImage, or an ELF vmlinux with a PVH note")
      ->required();
  app->add_option("--initrd", config->initrd, "Initial ramdisk");
  app->add_option("--cmdline", config->cmdline, "Kernel command line")
      ->default_str(config->cmdline);
  app->add_option("--memory,-m", *memory, "Guest RAM, e.g. 512M or 2G")->default_str(*memory);
  app->add_option("--cpus,-c", config->cpus, "Number of vCPUs")->default_str("1");
  app->add_option("--console", *console, "Serial console: stdio, pty, file:PATH, unix:PATH, none")
      ->default_str(*console);
  app->add_option("--disk", *disks,
                  "virtio-blk disk (repeatable; the first is /dev/vda): "
                  "path=FILE[,format=raw|qcow2][,readonly=on][,serial=S][,cache=none|writeback]"
                  "[,queues=N][,poll-max-ns=N]");
  app->add_option("--net", *nets,
                  "virtio-net card (repeatable): user[,hostfwd=tcp::2222-:22][,mac=M] "
                  "(NAT, DHCP, DNS; no privileges) or tap,ifname=NAME[,mac=M][,queues=N]");
  app->add_option("--virtio-console", *hvc,
                  "virtio console (the guest's hvc0): stdio, pty, file:PATH, unix:PATH, none")
      ->default_str(*hvc);
  app->add_flag("--no-rng", *no_rng, "No virtio-rng device (default: one, fed by getrandom)");
  app->add_option("--name", config->name, "VM name (SMBIOS product name)")
      ->default_str(config->name);
  app->add_option("--uuid", *uuid, "VM UUID (SMBIOS system UUID; default: random)");
  app->add_flag("--no-reboot", config->no_reboot, "Exit (status 3) when the guest reboots");
  app->add_option("--shutdown-timeout", config->shutdown_timeout_s,
                  "Seconds the guest gets to power off after SIGTERM")
      ->default_str("30");

  return Command{app, [config, memory, console, uuid, disks, nets, hvc, no_rng]() -> int {
                   for (const auto& text : *nets) {
                     auto net = parse_net_options(text);
                     if (!net.ok()) return fail("--net: " + net.error().message());
                     // Chosen now so the guest keeps its MAC across reboots.
                     if (!net->mac) net->mac = MacAddress::random_local();
                     config->nets.push_back(*net);
                   }
                   for (const auto& text : *disks) {
                     auto disk = parse_block_options(text);
                     if (!disk.ok()) return fail("--disk: " + disk.error().message());
                     config->disks.push_back(*disk);
                   }
                   auto hvc_spec = ConsoleSpec::parse(*hvc);
                   if (!hvc_spec.ok())
                     return fail("--virtio-console: " + hvc_spec.error().message());
                   config->virtio_console = *hvc_spec;
                   config->rng = !*no_rng;
                   if (!uuid->empty()) {
                     auto parsed = Uuid::parse(*uuid);
                     if (!parsed.ok()) return fail("--uuid: " + parsed.error().message());
                     config->uuid = *parsed;
                   }
                   auto mem = parse_size(*memory, 1 << 20);
                   if (!mem.ok()) return fail("--memory: " + mem.error().message());
                   config->memory_size = *mem;
                   auto spec = ConsoleSpec::parse(*console);
                   if (!spec.ok()) return fail(spec.error().message());
                   config->console = *spec;
                   auto kvm = Kvm::open();
                   if (!kvm.ok()) return fail(kvm.error().message());
                   auto valid = validate_config(*config, read_host_limits(kvm->max_vcpus()));
                   if (!valid.ok()) return fail(valid.error().message());
                   return run_vm(*config);
                 }};
}

}  // namespace vmkit::cli
