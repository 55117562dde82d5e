#include "bus/bus.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "base/checked.h"
#include "base/log.h"

namespace vmkit {

Status Bus::insert(std::shared_ptr<BusDevice> device, uint64_t base, uint64_t len) {
  auto end = checked_add<uint64_t>(base, len);
  if (len == 0 || !end) {
    return Error(fmt::format("{} bus: invalid range {:#x}+{:#x}", name_, base, len));
  }
  std::unique_lock lock(mutex_);
  auto next = ranges_.lower_bound(base);
  if (next != ranges_.end() && next->first < *end) {
    return Error(
        fmt::format("{} bus: range {:#x}+{:#x} overlaps {:#x}", name_, base, len, next->first));
  }
  if (next != ranges_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second.len > base) {
      return Error(
          fmt::format("{} bus: range {:#x}+{:#x} overlaps {:#x}", name_, base, len, prev->first));
    }
  }
  ranges_.emplace(base, Range{len, std::move(device)});
  return {};
}

bool Bus::remove(uint64_t base) {
  std::unique_lock lock(mutex_);
  return ranges_.erase(base) > 0;
}

std::shared_ptr<BusDevice> Bus::resolve(uint64_t addr, uint64_t size, uint64_t* offset) const {
  std::shared_lock lock(mutex_);
  auto it = ranges_.upper_bound(addr);
  if (it == ranges_.begin()) return nullptr;
  --it;
  uint64_t off = addr - it->first;
  if (!range_within(off, size, it->second.len)) return nullptr;
  *offset = off;
  return it->second.device;
}

bool Bus::read(uint64_t addr, std::span<uint8_t> data) const {
  std::fill(data.begin(), data.end(), 0);
  uint64_t offset = 0;
  auto device = resolve(addr, data.size(), &offset);
  if (!device) return false;
  device->read(offset, data);
  return true;
}

bool Bus::write(uint64_t addr, std::span<const uint8_t> data) const {
  uint64_t offset = 0;
  auto device = resolve(addr, data.size(), &offset);
  if (!device) return false;
  device->write(offset, data);
  return true;
}

}  // namespace vmkit
