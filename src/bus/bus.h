// PIO and MMIO buses: non-overlapping ranges with checked ends, each routed to one device that
// sees offsets relative to the start of its range. vCPU threads dispatch concurrently; devices
// do their own locking. Ranges may be moved at run time (PCI BAR programming).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>

#include "base/result.h"

namespace vmkit {

class BusDevice {
 public:
  virtual ~BusDevice() = default;
  // `offset` is relative to the base of the range the device was inserted at. Reads fill `data`
  // (pre-zeroed by the bus); accesses are 1, 2, 4 or 8 bytes wide for PIO and MMIO exits.
  virtual void read(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

class Bus {
 public:
  explicit Bus(std::string name) : name_(std::move(name)) {}

  // Fails if len is 0, the end wraps, or the range overlaps an existing one.
  Status insert(std::shared_ptr<BusDevice> device, uint64_t base, uint64_t len);
  // Removes the range starting exactly at `base`; returns false if there is none.
  bool remove(uint64_t base);

  // Returns false if no device covers [addr, addr+size) wholly; reads then leave data zeroed
  // (all-ones for unclaimed PIO is the caller's choice).
  bool read(uint64_t addr, std::span<uint8_t> data) const;
  bool write(uint64_t addr, std::span<const uint8_t> data) const;

 private:
  struct Range {
    uint64_t len;
    std::shared_ptr<BusDevice> device;
  };
  // Finds the device covering [addr, addr+size), with the offset of addr inside it.
  std::shared_ptr<BusDevice> resolve(uint64_t addr, uint64_t size, uint64_t* offset) const;

  std::string name_;
  mutable std::shared_mutex mutex_;   // guards ranges_; never held while calling a device
  std::map<uint64_t, Range> ranges_;  // keyed by base
};

}  // namespace vmkit
