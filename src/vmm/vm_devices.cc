#include "vmm/vm_devices.h"

#include "arch/x86_64/layout.h"
#include "devices/virtio/blk/block_device.h"
#include "devices/virtio/console/console_device.h"
#include "devices/virtio/net/net_device.h"
#include "devices/virtio/rng/rng_device.h"
#include "disk/disk_open.h"
#include "net/net_open.h"
#include "pci/pci_config_io.h"
#include "virtio/pci_transport.h"

namespace vmkit {
namespace {

Status attach(PciRoot& root, std::unique_ptr<VirtioDevice> device,
              const VirtioPciPlatform& platform) {
  auto pci = TRY(VirtioPciDevice::create(std::move(device), platform));
  TRY(root.attach(pci));
  return {};
}

}  // namespace

Result<std::unique_ptr<PciRoot>> build_pci(const PciPlatformRefs& p, const VmConfig& config,
                                           int virtio_console_fd,
                                           std::function<void()> on_pci_reset) {
  auto root =
      std::make_unique<PciRoot>(p.mmio, PciWindows{{x86::kPciMmio32Start, x86::kPciMmio32Size},
                                                   {p.mmio64_start, x86::kPciMmio64Size}});
  auto conf = std::make_shared<PciConfigIo>(*root);
  conf->set_reset_handler([reset = std::move(on_pci_reset)](uint8_t) { reset(); });
  TRY(p.pio.insert(conf, PciConfigIo::kBase, PciConfigIo::kSize));

  VirtioPciPlatform platform{&p.memory, &p.msi, &p.ioevents};
  for (const auto& disk : config.disks) {
    DiskOpenOptions open;
    open.format = disk.format;
    open.read_only = disk.read_only;
    open.cache = disk.cache;
    auto image = open_disk_image(disk.path, open);
    if (!image.ok()) return image.error().context("--disk " + disk.path);
    BlockDeviceParams params;
    params.image = std::shared_ptr<DiskImage>(std::move(*image));
    params.read_only = disk.read_only;
    params.serial = disk.serial;
    params.poll_max_ns = disk.poll_max_ns;
    params.num_queues = disk.queues.value_or(
        static_cast<uint16_t>(std::min<uint32_t>(config.cpus, BlockDevice::kMaxQueues)));
    auto blk = BlockDevice::create(std::move(params));
    if (!blk.ok()) return blk.error().context("--disk " + disk.path);
    TRY(attach(*root, std::move(*blk), platform));
  }
  for (const auto& net : config.nets) {
    auto backend = open_net_backend(net);
    if (!backend.ok()) return backend.error().context("--net");
    NetDeviceParams params;
    params.backend = std::shared_ptr<NetBackend>(std::move(*backend));
    params.mac = net.mac.value_or(MacAddress::random_local());
    params.link_up = net.link_up;
    auto device = NetDevice::create(std::move(params));
    if (!device.ok()) return device.error().context("--net");
    TRY(attach(*root, std::move(*device), platform));
  }
  if (config.rng) TRY(attach(*root, std::make_unique<RngDevice>(), platform));
  if (virtio_console_fd >= 0) {
    TRY(attach(
        *root,
        std::make_unique<ConsoleDevice>(ConsoleBackend{virtio_console_fd, virtio_console_fd}),
        platform));
  }
  return root;
}

}  // namespace vmkit
