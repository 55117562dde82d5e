// virtio-net (virtio 1.2, 5.1) over a NetBackend (tap or user-mode networking): MAC address,
// link status, a control queue (RX modes, MAC tables, VLAN filter, MAC address, number of
// queue pairs, guest offloads), checksum and TCP segmentation offloads in both directions when
// the backend supports them, mergeable receive buffers and up to 16 queue pairs (MQ), each
// served by its own I/O thread (net_queue_pair.h). The control queue is served on pair 0's
// thread.
//
// Queues: receiveq0, transmitq0, ..., receiveqN-1, transmitqN-1, controlq (index 2N when MQ is
// negotiated, else 2).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/result.h"
#include "devices/virtio/net/net_ctrl.h"
#include "devices/virtio/net/net_queue_pair.h"
#include "devices/virtio/net/net_spec.h"
#include "net/mac_address.h"
#include "net/net_backend.h"
#include "virtio/virtio_device.h"

namespace vmkit {

struct NetDeviceParams {
  std::shared_ptr<NetBackend> backend;  // required; one queue pair per backend queue
  MacAddress mac;                       // required (the creator picks a random one by default)
  bool link_up = true;
  uint16_t queue_size = 256;  // a power of two in [64, 1024]
};

// A snapshot of the device's counters (summed over queue pairs).
struct NetDeviceStats {
  uint64_t tx_frames = 0, tx_bytes = 0, tx_dropped = 0, tx_errors = 0;
  uint64_t rx_frames = 0, rx_bytes = 0, rx_dropped = 0, rx_filtered = 0, rx_stalls = 0;
  uint64_t backend_dropped = 0;
  uint64_t ctrl_ok = 0, ctrl_err = 0;
};

class NetDevice final : public VirtioDevice {
 public:
  static constexpr uint16_t kCtrlQueueSize = 64;

  static Result<std::unique_ptr<NetDevice>> create(NetDeviceParams params);
  ~NetDevice() override { reset(); }

  uint32_t device_type() const override;
  std::vector<uint16_t> queue_max_sizes() const override;
  uint64_t device_features() const override { return features_; }
  bool accept_features(uint64_t features) override;
  size_t config_size() const override { return sizeof(net::Config); }
  void read_config(uint64_t offset, std::span<uint8_t> data) override;
  Status activate(VirtioActivation activation) override;
  void reset() override;

  // Sets the link state the guest sees (a configuration change interrupt when running).
  void set_link_up(bool up);
  NetDeviceStats stats() const;
  uint16_t max_queue_pairs() const { return max_pairs_; }
  // Queue pairs the guest has enabled (VQ_PAIRS_SET); 1 until it asks for more.
  uint16_t active_queue_pairs() const { return active_pairs_.load(); }
  MacAddress mac() const;

  // Serves the control queue once (pair 0's thread does it when running; fuzzers by hand).
  void process_ctrl();
  // The pairs of the running device (fuzzers and benchmarks drive them by hand).
  std::vector<std::unique_ptr<net::NetQueuePair>>& pairs() { return pairs_; }

 private:
  explicit NetDevice(NetDeviceParams params);
  uint8_t execute(const net::CtrlCommand& command);
  NetOffloads rx_offloads_for(uint64_t guest_bits) const;

  NetDeviceParams params_;
  uint16_t max_pairs_;
  uint64_t features_ = 0;
  mutable std::mutex config_mutex_;  // guards config_ (read by vCPUs, written by pair 0)
  net::Config config_{};
  VirtioInterrupt* interrupt_ = nullptr;  // while active
  std::unique_ptr<net::NetShared> shared_;
  std::vector<std::unique_ptr<net::NetQueuePair>> pairs_;
  std::optional<ActiveQueue> ctrl_;
  DescriptorChain ctrl_chain_;
  std::vector<uint8_t> ctrl_bytes_;
  std::atomic<uint16_t> active_pairs_{1};
  std::atomic<uint64_t> ctrl_ok_{0}, ctrl_err_{0};
  // Guards pairs_ against stats() while activate()/reset() change it (never taken by the
  // pairs' threads).
  mutable std::mutex pairs_mutex_;
  // Counters of pairs that were torn down (reset), so stats() keeps growing.
  NetDeviceStats retired_;
};

}  // namespace vmkit
