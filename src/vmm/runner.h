// The lifecycle of `vmkit run`: build the VM, run it, and react to what happens: guest
// poweroff (exit 0), reboot (a fresh VM, or exit 3 with --no-reboot), errors (exit 1), SIGTERM
// or SIGINT (press the ACPI power button; stop the guest if it has not shut down in time, exit 4),
// the console's quit escape.
#pragma once

#include "vmm/config.h"

namespace vmkit {

// Runs the VM to its end; returns the process exit code (see ExitCode in config.h).
int run_vm(const VmConfig& config);

}  // namespace vmkit
