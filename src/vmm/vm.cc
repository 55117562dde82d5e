#include "vmm/vm.h"

#include <fcntl.h>

#include <future>
#include <system_error>

#include "arch/x86_64/acpi/mptable.h"
#include "arch/x86_64/acpi/tables.h"
#include "arch/x86_64/boot_setup.h"
#include "arch/x86_64/cpuid.h"
#include "arch/x86_64/e820.h"
#include "arch/x86_64/kernel_loader.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/smbios/smbios.h"
#include "arch/x86_64/vcpu_setup.h"
#include "base/file.h"
#include "base/log.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/rtc.h"
#include "vmm/kvm_irq.h"
#include "vmm/vm_devices.h"

namespace vmkit {
namespace {

// Ports Linux touches that need no behaviour: the POST code port (I/O delay).
class IgnoredPort : public BusDevice {
 public:
  void read(uint64_t, std::span<uint8_t> data) override {
    for (auto& b : data) b = 0xff;
  }
  void write(uint64_t, std::span<const uint8_t>) override {}
};

}  // namespace

Result<std::unique_ptr<Vm>> Vm::create(const Kvm& kvm, const VmConfig& config,
                                       const VmHostEnd& host) {
  TRY(kvm.require_extension(KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"));
  TRY(kvm.require_extension(KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"));
  TRY(kvm.require_extension(KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"));
  TRY(kvm.require_extension(KVM_CAP_IRQFD, "KVM_CAP_IRQFD"));
  KvmVm kvm_vm = TRY(KvmVm::create(kvm));
  GuestMemory memory = TRY(GuestMemory::create(x86::ram_regions(config.memory_size)));
  std::unique_ptr<Vm> vm(new Vm(std::move(kvm_vm), std::move(memory)));
  // Reading the kernel and initrd into fresh guest RAM (~15 MB of page faults and copies) is the
  // longest step of a start: it runs on a thread of its own while the devices, the firmware
  // tables and the vCPUs are set up, none of which touch those pages (the tables live below
  // 1 MiB, the images above). Errors come in the order of the steps before the thread existed:
  // devices, then images, then tables and vCPUs. A host that cannot start the thread loads the
  // images at the join instead.
  auto load = [&memory = vm->memory_, &config] { return load_images(memory, config); };
  std::future<Result<LoadedImages>> loading;
  try {
    loading = std::async(std::launch::async, load);
  } catch (const std::system_error&) {
    loading = std::async(std::launch::deferred, load);
  }
  Status devices = vm->setup_devices(kvm, config, host);
  Status platform = devices.ok() ? vm->setup_firmware_and_vcpus(kvm, config, host) : Status{};
  Result<LoadedImages> images = loading.get();
  TRY(devices);
  if (!images.ok()) return images.error();
  TRY(platform);
  TRY(vm->finish_boot_setup(config, *images));
  return vm;
}

Status Vm::setup_devices(const Kvm& kvm, const VmConfig& config, const VmHostEnd& host) {
  TRY(setup_memory());
  TRY(setup_platform(host));
  return setup_pci(kvm, config, host);
}

Status Vm::setup_firmware_and_vcpus(const Kvm& kvm, const VmConfig& config, const VmHostEnd& host) {
  rsdp_address_ = TRY(write_firmware_tables(config));
  return create_vcpus(kvm, config, *host.events);
}

Vm::~Vm() {
  stop();
}

Status Vm::setup_memory() {
  uint32_t slot = 0;
  for (const auto& region : memory_.regions()) {
    TRY(vm_.set_memory_region(slot++, region.start().value(), region.size(),
                              region.host_address()));
  }
  TRY(vm_.set_tss_address(x86::kKvmTssAddress));
  TRY(vm_.set_identity_map_address(x86::kKvmIdentityMapAddress));
  TRY(vm_.create_irqchip());
  TRY(vm_.create_pit());
  return {};
}

Status Vm::setup_platform(const VmHostEnd& host) {
  Console& console = *host.serial_console;
  VmEvents& events = *host.events;
  serial_ = std::make_shared<Serial>(
      [&console](std::span<const uint8_t> bytes) { console.write(bytes); },
      std::make_shared<KvmIrqLine>(vm_, x86::kCom1Irq), host.on_serial_rx_space);
  TRY(pio_.insert(serial_, x86::kCom1Port, 8));
  TRY(pio_.insert(std::make_shared<Rtc>(), x86::kRtcPort, 2));
  auto i8042 = std::make_shared<I8042>([&events] { events.report(VmEvent::kReset); });
  // One range 0x60-0x64 so the device sees offsets 0 (data) and 4 (command); 0x61 is KVM's.
  TRY(pio_.insert(i8042, x86::kI8042DataPort, x86::kI8042CommandPort - x86::kI8042DataPort + 1));
  TRY(pio_.insert(std::make_shared<IgnoredPort>(), x86::kPostCodePort, 1));
  acpi_pm_ = std::make_shared<AcpiPm>(std::make_shared<KvmIrqLine>(vm_, x86::kAcpiSciIrq),
                                      x86::kAcpiS5SleepType,
                                      [&events] { events.report(VmEvent::kPoweroff); });
  TRY(pio_.insert(acpi_pm_, x86::kAcpiPm1aEventPort, AcpiPm::kSize));
  return {};
}

Status Vm::setup_pci(const Kvm& kvm, const VmConfig& config, const VmHostEnd& host) {
  gsi_router_ = std::make_unique<KvmGsiRouter>(vm_);
  msi_ = std::make_unique<KvmMsiController>(vm_, *gsi_router_);
  ioevents_ = std::make_unique<KvmIoEventRegistrar>(
      vm_, kvm.check_extension(KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0);
  VmEvents* events = host.events;
  pci_root_ = TRY(build_pci(
      {pio_, mmio_, memory_, *msi_, *ioevents_, x86::pci_mmio64_start(memory_.end().value())},
      config, host.virtio_console_fd, [events] { events->report(VmEvent::kReset); }));
  return {};
}

Result<Vm::LoadedImages> Vm::load_images(const GuestMemory& memory, const VmConfig& config) {
  auto image = x86::FileKernelImage::open(config.kernel);
  if (!image.ok()) return image.error().context("kernel");
  LoadedImages loaded;
  loaded.kernel = TRY(x86::load_kernel(memory, *image, x86::low_ram_end(config.memory_size)));
  if (!config.initrd.empty()) {
    auto fd = open_file(config.initrd, O_RDONLY);
    if (!fd.ok()) return fd.error().context("initrd");
    uint64_t size = TRY(file_size(fd->get(), config.initrd));
    x86::InitrdPlacement placement =
        TRY(x86::place_initrd(loaded.kernel, size, config.memory_size));
    auto dest = TRY(memory.span(GuestAddress(placement.address), size));
    TRY(read_exact(fd->get(), dest, 0, config.initrd));
    loaded.initrd = placement;
  }
  return loaded;
}

Status Vm::finish_boot_setup(const VmConfig& config, const LoadedImages& images) {
  x86::BootSetup setup;
  setup.cmdline = config.cmdline;
  setup.memory_size = config.memory_size;
  setup.initrd = images.initrd;
  setup.rsdp_address = rsdp_address_;
  TRY(x86::write_boot_structures(memory_, images.kernel, setup));
  return x86::setup_boot_vcpu(vcpus_.front()->vcpu(), images.kernel);
}

Result<uint64_t> Vm::write_firmware_tables(const VmConfig& config) {
  x86::acpi::AcpiConfig acpi;
  acpi.num_cpus = config.cpus;
  acpi.pci_mmio64_start = x86::pci_mmio64_start(memory_.end().value());
  acpi.pci_mmio64_size = x86::kPciMmio64Size;
  acpi.rtc_century_index = 0x32;
  GuestAddress rsdp = TRY(x86::acpi::write_acpi_tables(memory_, acpi));
  // The MP table is a fallback for guests booted with acpi=off; it cannot describe APIC ids
  // above 254, where ACPI alone describes the machine.
  if (config.cpus < 255) TRY(x86::mptable::write_mp_table(memory_, acpi));

  x86::smbios::SmbiosConfig smbios;
  smbios.uuid = config.uuid.bytes;
  smbios.product_name = config.name;
  smbios.serial_number = config.uuid.to_string();
  smbios.version = "0.1";
  smbios.cores_per_socket = config.cpus;
  for (const auto& e : x86::build_e820(config.memory_size)) {
    if (e.type == x86::kE820Ram) smbios.ram.push_back({e.addr, e.size});
  }
  TRY(x86::smbios::write_smbios_tables(memory_, smbios));
  return rsdp.value();
}

Status Vm::create_vcpus(const Kvm& kvm, const VmConfig& config, VmEvents& events) {
  CpuidEntries cpuid = TRY(kvm.supported_cpuid());
  std::vector<uint32_t> msrs = TRY(kvm.msr_index_list());
  x86::CpuidOptions cpuid_options;
  cpuid_options.tsc_deadline = kvm.check_extension(KVM_CAP_TSC_DEADLINE_TIMER) > 0;
  for (uint32_t i = 0; i < config.cpus; ++i) {
    KvmVcpu vcpu = TRY(KvmVcpu::create(kvm, vm_, i));
    TRY(x86::setup_vcpu_common(vcpu, cpuid, msrs, config.cpus, cpuid_options));
    vcpus_.push_back(std::make_unique<VcpuThread>(std::move(vcpu), pio_, mmio_, events));
  }
  return {};
}

Status Vm::start() {
  for (auto& v : vcpus_) v->start();
  return {};
}

void Vm::stop() {
  for (auto& v : vcpus_) v->stop();
  // Device threads stop with a function reset; they hold pointers into guest memory.
  if (pci_root_) pci_root_->reset();
}

void Vm::pause() {
  for (auto& v : vcpus_) v->pause();
}

void Vm::resume() {
  for (auto& v : vcpus_) v->resume();
}

std::vector<int> Vm::vcpu_fds() const {
  std::vector<int> fds;
  for (const auto& v : vcpus_) fds.push_back(v->vcpu().fd());
  return fds;
}

void Vm::press_power_button() {
  if (acpi_pm_) acpi_pm_->press_power_button();
}

}  // namespace vmkit
