#include "devices/virtio/blk/block_device.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "base/checked.h"
#include "virtio/virtio_spec.h"

namespace vmkit {

Result<std::unique_ptr<BlockDevice>> BlockDevice::create(BlockDeviceParams params) {
  if (!params.image) return Error("virtio-blk: no disk image");
  if (params.num_queues == 0 || params.num_queues > kMaxQueues) {
    return Error(
        fmt::format("virtio-blk: {} queues (1 to {} supported)", params.num_queues, kMaxQueues));
  }
  if (!is_power_of_two(params.queue_size) || params.queue_size < 4 || params.queue_size > 1024) {
    return Error(fmt::format("virtio-blk: queue size {} is not a power of two in [4, 1024]",
                             params.queue_size));
  }
  if (params.serial.size() > blk::kIdBytes) {
    return Error(fmt::format("virtio-blk: serial '{}' is longer than {} bytes", params.serial,
                             blk::kIdBytes));
  }
  return std::unique_ptr<BlockDevice>(new BlockDevice(std::move(params)));
}

BlockDevice::BlockDevice(BlockDeviceParams params) : params_(std::move(params)) {
  read_only_ = params_.read_only || params_.image->read_only();
  features_ =
      blk::kFeatureSegMax | blk::kFeatureBlkSize | blk::kFeatureFlush | blk::kFeatureTopology;
  if (params_.num_queues > 1) features_ |= blk::kFeatureMq;
  if (read_only_) {
    features_ |= blk::kFeatureRo;
  } else {
    features_ |= blk::kFeatureDiscard | blk::kFeatureWriteZeroes;
  }
  uint32_t granularity = std::max<uint32_t>(params_.image->discard_granularity(), 512);
  config_.capacity = params_.image->virtual_size() / blk::kSectorSize;
  config_.seg_max = params_.queue_size - 2u;  // header and status take one descriptor each
  config_.blk_size = blk::kSectorSize;
  config_.physical_block_exp = 3;  // 4 KiB physical blocks: guests align to them
  config_.min_io_size = 1;
  config_.num_queues = params_.num_queues;
  config_.max_discard_sectors = kMaxDiscardSectors;
  config_.max_discard_seg = 1;
  config_.discard_sector_alignment = granularity / static_cast<uint32_t>(blk::kSectorSize);
  config_.max_write_zeroes_sectors = kMaxDiscardSectors;
  config_.max_write_zeroes_seg = 1;
  config_.write_zeroes_may_unmap = 1;
}

uint32_t BlockDevice::device_type() const {
  return virtio::kDeviceBlock;
}

std::vector<uint16_t> BlockDevice::queue_max_sizes() const {
  return std::vector<uint16_t>(params_.num_queues, params_.queue_size);
}

void BlockDevice::read_config(uint64_t offset, std::span<uint8_t> data) {
  // The transport clamps to config_size().
  // SAFETY: the packed config struct viewed as bytes.
  std::memcpy(data.data(), reinterpret_cast<const uint8_t*>(&config_) + offset, data.size());
}

Status BlockDevice::activate(VirtioActivation activation) {
  reset();
  BlockQueueContext context;
  context.memory = activation.memory;
  context.interrupt = activation.interrupt;
  context.limits.capacity_sectors = config_.capacity;
  context.limits.read_only = read_only_;
  context.limits.discard = (activation.features & blk::kFeatureDiscard) != 0;
  context.limits.write_zeroes = (activation.features & blk::kFeatureWriteZeroes) != 0;
  context.limits.max_discard_sectors = config_.max_discard_sectors;
  context.limits.max_write_zeroes_sectors = config_.max_write_zeroes_sectors;
  context.limits.max_segments = 1;
  context.poll_max_ns = params_.poll_max_ns;
  std::memcpy(context.id.data(), params_.serial.data(), params_.serial.size());
  for (ActiveQueue& queue : activation.queues) {
    auto created = BlockQueue::create(std::move(queue), context, *params_.image);
    if (!created.ok()) {
      reset();
      return std::move(created).error().context("virtio-blk");
    }
    queues_.push_back(std::move(created).value());
    Status started = queues_.back()->start_thread();
    if (!started.ok()) {
      reset();
      return std::move(started).error().context("virtio-blk");
    }
  }
  return {};
}

void BlockDevice::reset() {
  for (auto& q : queues_) q->stop();
  queues_.clear();
}

}  // namespace vmkit
