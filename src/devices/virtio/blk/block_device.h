// virtio-blk (virtio 1.2, 5.2) over a DiskImage: read, write, flush (completed only after the
// image's data is on stable storage), discard, write-zeroes, get-id, read-only disks and one
// request queue per vCPU (VIRTIO_BLK_F_MQ), each served by its own I/O thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "devices/virtio/blk/block_queue.h"
#include "devices/virtio/blk/block_spec.h"
#include "disk/disk_image.h"
#include "virtio/virtio_device.h"

namespace vmkit {

struct BlockDeviceParams {
  std::shared_ptr<DiskImage> image;  // required
  bool read_only = false;            // also forced when the image is read-only
  std::string serial;                // GET_ID string, at most 20 bytes
  uint16_t num_queues = 1;           // the creator passes the vCPU count
  uint16_t queue_size = 256;         // a power of two in [4, 1024]
  uint64_t poll_max_ns = 0;          // BlockQueueContext::poll_max_ns
};

class BlockDevice final : public VirtioDevice {
 public:
  static constexpr uint32_t kMaxDiscardSectors = (1u << 22) - 1;  // 2 GiB per request
  static constexpr uint16_t kMaxQueues = 64;

  static Result<std::unique_ptr<BlockDevice>> create(BlockDeviceParams params);
  ~BlockDevice() override { reset(); }

  uint32_t device_type() const override;
  std::vector<uint16_t> queue_max_sizes() const override;
  uint64_t device_features() const override { return features_; }
  size_t config_size() const override { return sizeof(config_); }
  void read_config(uint64_t offset, std::span<uint8_t> data) override;
  Status activate(VirtioActivation activation) override;
  void reset() override;

  bool read_only() const { return read_only_; }
  const blk::Config& config() const { return config_; }

 private:
  explicit BlockDevice(BlockDeviceParams params);

  BlockDeviceParams params_;
  bool read_only_ = false;
  uint64_t features_ = 0;
  blk::Config config_{};
  std::vector<std::unique_ptr<BlockQueue>> queues_;
};

}  // namespace vmkit
