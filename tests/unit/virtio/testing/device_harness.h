// Activates a VirtioDevice directly (no transport) on fake guest memory, with one
// FakeQueueDriver and one notification eventfd per queue and a FakeInterrupt, so device tests
// can act as the guest driver.
#pragma once

#include <memory>
#include <vector>

#include "fake_driver.h"
#include "fake_interrupt.h"
#include "virtio/virtio_device.h"
#include "virtio/virtio_spec.h"

namespace vmkit::testing {

class DeviceHarness {
 public:
  static constexpr uint64_t kRingFeatures =
      virtio::kFeatureVersion1 | virtio::kFeatureEventIdx | virtio::kFeatureIndirectDesc;

  // Queue i's rings live at 0x10000 * (i + 1); its buffers in a 1 MiB pool above 16 MiB.
  explicit DeviceHarness(VirtioDevice& device)
      : device_(device), mem(GuestMemory::create({{GuestAddress(0), 0x4000000}}).value()) {
    std::vector<uint16_t> sizes = device.queue_max_sizes();
    for (size_t i = 0; i < sizes.size(); ++i) {
      kicks.push_back(EventFd::create().value());
      drivers.push_back(
          std::make_unique<FakeQueueDriver>(mem, sizes[i], GuestAddress(0x10000 * (i + 1)),
                                            GuestAddress(0x1000000 + 0x100000 * i), 0x100000));
    }
  }
  ~DeviceHarness() { device_.reset(); }

  // Activates with every queue enabled.
  Status activate(uint64_t features = kRingFeatures) {
    std::vector<uint16_t> all;
    for (uint16_t i = 0; i < drivers.size(); ++i) all.push_back(i);
    return activate_only(features, all);
  }
  // Activates with only the queues in `enabled`.
  Status activate_only(uint64_t features, const std::vector<uint16_t>& enabled) {
    VirtioActivation a;
    a.memory = &mem;
    a.interrupt = &irq;
    a.features = features;
    for (uint16_t i : enabled) {
      auto q = VirtQueue::create(mem, drivers[i]->layout(), drivers[i]->size(), features);
      if (!q.ok()) return std::move(q).error();
      a.queues.push_back(ActiveQueue{i, std::move(q).value(), &kicks[i]});
    }
    return device_.activate(std::move(a));
  }
  FakeQueueDriver& driver(uint16_t q) { return *drivers[q]; }
  void kick(uint16_t q) { (void)kicks[q].signal(); }
  bool wait_used(uint16_t q, uint16_t n) {
    return irq.wait_until([&] { return drivers[q]->used_idx() == n; });
  }

 private:
  VirtioDevice& device_;

 public:
  GuestMemory mem;
  FakeInterrupt irq;
  std::vector<EventFd> kicks;
  std::vector<std::unique_ptr<FakeQueueDriver>> drivers;
};

}  // namespace vmkit::testing
