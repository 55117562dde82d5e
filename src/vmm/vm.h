// One virtual machine assembled from a validated VmConfig: KVM VM, guest RAM, buses, platform
// devices, the loaded kernel and one thread per vCPU. A reboot destroys it and builds a new one.
#pragma once

#include <memory>
#include <vector>

#include "arch/x86_64/kernel_loader.h"
#include "base/result.h"
#include "bus/bus.h"
#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/serial.h"
#include "kvm/kvm.h"
#include "kvm/vm.h"
#include "memory/guest_memory.h"
#include "vmm/config.h"
#include "vmm/console.h"
#include "vmm/vcpu_thread.h"
#include "vmm/vm_events.h"

namespace vmkit {

class Vm {
 public:
  // `console` and `events` outlive the Vm. `on_serial_rx_space` is called when the UART can take
  // more input after having been full.
  static Result<std::unique_ptr<Vm>> create(const Kvm& kvm, const VmConfig& config,
                                            Console& console, VmEvents& events,
                                            std::function<void()> on_serial_rx_space);
  ~Vm();

  Status start();
  // Stops and joins every vCPU thread; devices stop with the Vm's destruction.
  void stop();
  void pause();
  void resume();

  void press_power_button();
  std::vector<int> vcpu_fds() const;
  Serial& serial() { return *serial_; }
  const GuestMemory& memory() const { return memory_; }

 private:
  Vm(KvmVm vm, GuestMemory memory) : vm_(std::move(vm)), memory_(std::move(memory)) {}
  Status setup_memory();
  Status setup_platform(const VmConfig& config, Console& console, VmEvents& events,
                        std::function<void()> on_serial_rx_space);
  Status load_guest(const VmConfig& config);
  // ACPI (returns the RSDP address), MP table and SMBIOS.
  Result<uint64_t> write_firmware_tables(const VmConfig& config);
  Status create_vcpus(const Kvm& kvm, const VmConfig& config, VmEvents& events);

  KvmVm vm_;
  GuestMemory memory_;
  Bus pio_{"pio"};
  Bus mmio_{"mmio"};
  std::shared_ptr<Serial> serial_;
  std::shared_ptr<AcpiPm> acpi_pm_;
  std::vector<std::unique_ptr<VcpuThread>> vcpus_;
  x86::LoadedKernel loaded_kernel_;
};

}  // namespace vmkit
