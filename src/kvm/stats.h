// KVM's binary statistics (KVM_GET_STATS_FD) of a VM or vCPU: counters by name, such as
// "exits" or "insn_emulation".
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace vmkit {

class KvmStats {
 public:
  // `object_fd` is a VM or vCPU fd.
  static Result<KvmStats> open(int object_fd);

  bool has(const std::string& name) const { return offsets_.count(name) != 0; }
  // The counter's current value (the first element for array stats).
  Result<uint64_t> read(const std::string& name) const;

 private:
  KvmStats(UniqueFd fd, uint64_t data_offset, std::map<std::string, uint32_t> offsets)
      : fd_(std::move(fd)), data_offset_(data_offset), offsets_(std::move(offsets)) {}
  UniqueFd fd_;
  uint64_t data_offset_;
  std::map<std::string, uint32_t> offsets_;  // name -> byte offset in the data block
};

}  // namespace vmkit
