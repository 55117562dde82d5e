// The options of one virtio-blk disk as the command line gives them:
//   path=FILE[,readonly=on|off][,serial=S][,cache=none|writeback][,format=raw|qcow2][,queues=N]
//   [,poll-max-ns=N]
// A bare first item is the path ("disk.img,readonly=on"). A comma inside a value is written
// twice (",,"), as in QEMU. Errors are one line naming the option and the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "disk/disk_image.h"

namespace vmkit {

struct BlockOptions {
  std::string path;
  bool read_only = false;
  std::string serial;  // at most 20 printable ASCII bytes
  CacheMode cache = CacheMode::kWriteback;
  std::string format;              // "raw", "qcow2", or empty: the opener decides
  std::optional<uint16_t> queues;  // default: one per vCPU (the creator's choice)
  // Adaptive polling of each queue for new requests, at most this long (0: off).
  uint64_t poll_max_ns = kDefaultPollMaxNs;

  static constexpr uint64_t kDefaultPollMaxNs = 200'000;
  static constexpr uint64_t kMaxPollMaxNs = 10'000'000;
};

Result<BlockOptions> parse_block_options(std::string_view text);

}  // namespace vmkit
