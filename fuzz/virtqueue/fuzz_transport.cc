#include "fuzz_transport.h"

#include <cstring>

#include "layout.h"
#include "pci/pci_config_io.h"
#include "pci/pci_root.h"
#include "pci/testing/fake_platform.h"
#include "virtio/pci_transport.h"

namespace vmkit::fuzz {
namespace {

// Serves every chain at activation and on demand, on the calling thread.
class SyncDevice final : public VirtioDevice {
 public:
  uint32_t device_type() const override { return virtio::kDeviceEntropy; }
  std::vector<uint16_t> queue_max_sizes() const override { return {16, 8}; }
  uint64_t device_features() const override { return 0x3; }
  bool accept_features(uint64_t f) override { return (f & 0x2) == 0 || (f & 0x1) != 0; }
  size_t config_size() const override { return sizeof(config_); }
  void read_config(uint64_t offset, std::span<uint8_t> data) override {
    if (offset + data.size() > sizeof(config_)) __builtin_trap();  // the transport clamps
    std::memcpy(data.data(), config_ + offset, data.size());
  }
  void write_config(uint64_t offset, std::span<const uint8_t> data) override {
    if (offset + data.size() > sizeof(config_)) __builtin_trap();
    std::memcpy(config_ + offset, data.data(), data.size());
  }
  Status activate(VirtioActivation a) override {
    active_ = std::move(a);
    serve();
    return {};
  }
  void reset() override { active_.reset(); }

  void serve() {
    if (!active_) return;
    for (ActiveQueue& q : active_->queues) {
      bool used = false;
      for (int i = 0; i < 32; ++i) {
        auto popped = q.queue.pop(chain_);
        if (!popped.ok()) {
          active_->interrupt->signal_device_error();
          break;
        }
        if (!*popped) break;
        (void)q.queue.add_used(chain_.head(), 0);
        used = true;
      }
      if (used && q.queue.needs_interrupt()) active_->interrupt->signal_used(q.index);
    }
  }
  void config_changed() {
    if (active_) active_->interrupt->signal_config_change();
  }

 private:
  uint8_t config_[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  std::optional<VirtioActivation> active_;
  DescriptorChain chain_;
};

constexpr size_t kOpBytes = 8;

}  // namespace

void run_transport(const uint8_t* data, size_t size) {
  if (size < 1) return;
  size_t ops = data[0];
  data += 1;
  size -= 1;
  size_t op_bytes = std::min(size, ops * kOpBytes);
  GuestMemory& mem = fuzz_memory();
  load_memory(mem, data + op_bytes, size - op_bytes);

  testing::FakeMsiController msi;
  testing::FakeIoEventRegistrar ioevents;
  auto line = std::make_shared<testing::FakeIrqLine>();
  Bus mmio("mmio");
  PciRoot root(mmio, PciWindows{{0xc0000000, 0x10000}, {0x100000000, 0x10000}});
  PciConfigIo io(root);
  auto device = std::make_unique<SyncDevice>();
  SyncDevice* dev = device.get();
  auto transport =
      VirtioPciDevice::create(std::move(device), VirtioPciPlatform{&mem, &msi, &ioevents});
  if (!transport.ok()) __builtin_trap();
  (*transport)->set_irq_line(line, 10);
  uint8_t slot = root.attach(*transport).value();

  for (size_t at = 0; at + kOpBytes <= op_bytes; at += kOpBytes) {
    const uint8_t* op = data + at;
    size_t width = size_t{1} << (op[1] & 3);
    uint16_t offset;
    uint32_t value;
    std::memcpy(&offset, op + 2, 2);
    std::memcpy(&value, op + 4, 4);
    uint8_t buf[8] = {};
    std::memcpy(buf, &value, 4);
    size_t cw = std::min<size_t>(width, 4 - (offset & 3));  // config: inside one dword
    switch (op[0] % 9) {
      case 0:
        root.config_read(0, slot, 0, offset & 0xff, std::span(buf, cw));
        break;
      case 1:
        root.config_write(0, slot, 0, offset & 0xff, std::span(buf, cw));
        break;
      case 2:
        mmio.read((*transport)->bar_address(0) + offset, std::span(buf, width));
        break;
      case 3:
        mmio.write((*transport)->bar_address(0) + offset, std::span(buf, width));
        break;
      case 4:
        io.write(offset & 7, std::span(buf, std::min<size_t>(width, 8 - (offset & 7))));
        break;
      case 5:
        io.read(offset & 7, std::span(buf, std::min<size_t>(width, 8 - (offset & 7))));
        break;
      case 6:
        dev->serve();
        break;
      case 7:
        dev->config_changed();
        break;
      case 8:
        root.reset();
        break;
    }
  }
  if (msi.last && msi.last->triggered_without_route) __builtin_trap();
  root.reset();
}

}  // namespace vmkit::fuzz
