// One virtual machine assembled from a validated VmConfig: KVM VM, guest RAM, buses, platform
// devices, firmware tables, the PCI root with its virtio devices, the loaded kernel and one thread
// per vCPU. A reboot destroys it and builds a new one from the same config.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "arch/x86_64/boot_setup.h"
#include "arch/x86_64/kernel_loader.h"
#include "base/result.h"
#include "bus/bus.h"
#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/serial.h"
#include "kvm/kvm.h"
#include "kvm/vm.h"
#include "memory/guest_memory.h"
#include "pci/pci_root.h"
#include "vmm/config.h"
#include "vmm/console.h"
#include "vmm/kvm_platform.h"
#include "vmm/vcpu_thread.h"
#include "vmm/vm_events.h"

namespace vmkit {

// What the VM is connected to on the host side; owned by the runner and kept across reboots.
struct VmHostEnd {
  Console* serial_console = nullptr;
  VmEvents* events = nullptr;
  std::function<void()> on_serial_rx_space;  // the UART can take more input
  int virtio_console_fd = -1;                // our end of the hvc0 stream, or -1 for none
};

class Vm {
 public:
  static Result<std::unique_ptr<Vm>> create(const Kvm& kvm, const VmConfig& config,
                                            const VmHostEnd& host);
  ~Vm();

  Status start();
  // Stops and joins every vCPU thread, then stops the devices' threads.
  void stop();
  void pause();
  void resume();

  void press_power_button();
  Serial& serial() { return *serial_; }
  const GuestMemory& memory() const { return memory_; }
  std::vector<int> vcpu_fds() const;

 private:
  Vm(KvmVm vm, GuestMemory memory) : vm_(std::move(vm)), memory_(std::move(memory)) {}
  Status setup_memory();
  Status setup_platform(const VmHostEnd& host);
  Status setup_pci(const Kvm& kvm, const VmConfig& config, const VmHostEnd& host);
  // The kernel and initrd as placed in guest RAM.
  struct LoadedImages {
    x86::LoadedKernel kernel;
    std::optional<x86::InitrdPlacement> initrd;
  };
  // Memory slots, in-kernel irqchip and PIT, platform and PCI devices.
  Status setup_devices(const Kvm& kvm, const VmConfig& config, const VmHostEnd& host);
  // ACPI, MP and SMBIOS tables (below 1 MiB) and the vCPUs, without the boot vCPU's entry state.
  Status setup_firmware_and_vcpus(const Kvm& kvm, const VmConfig& config, const VmHostEnd& host);
  // Copies the kernel and initrd into `memory` (at 1 MiB and above); runs on a thread of its own
  // beside setup_devices() and setup_firmware_and_vcpus().
  static Result<LoadedImages> load_images(const GuestMemory& memory, const VmConfig& config);
  // Zero page or PVH start info, command line, page tables; the boot vCPU's entry registers.
  Status finish_boot_setup(const VmConfig& config, const LoadedImages& images);
  // ACPI (returns the RSDP address), MP table and SMBIOS.
  Result<uint64_t> write_firmware_tables(const VmConfig& config);
  Status create_vcpus(const Kvm& kvm, const VmConfig& config, VmEvents& events);

  // Declaration order is teardown order reversed: vCPUs go first, then devices, then the PCI
  // platform objects they use, then buses, memory and the KVM VM.
  KvmVm vm_;
  GuestMemory memory_;
  Bus pio_{"pio"};
  Bus mmio_{"mmio"};
  std::unique_ptr<KvmGsiRouter> gsi_router_;
  std::unique_ptr<KvmMsiController> msi_;
  std::unique_ptr<KvmIoEventRegistrar> ioevents_;
  std::unique_ptr<PciRoot> pci_root_;
  std::shared_ptr<Serial> serial_;
  std::shared_ptr<AcpiPm> acpi_pm_;
  uint64_t rsdp_address_ = 0;
  std::vector<std::unique_ptr<VcpuThread>> vcpus_;
};

}  // namespace vmkit
