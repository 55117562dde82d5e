// Guest RAM and the one API through which vmkit touches it. Every access is bounds- and
// overflow-checked against the regions; an access that is not wholly inside one region fails
// with an error (never a host fault). No raw host pointer escapes except through span(), whose
// result must not be kept beyond the request it serves (never across a device reset).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "base/mmap.h"
#include "base/result.h"
#include "memory/guest_address.h"

namespace vmkit {

struct GuestRegionSpec {
  GuestAddress start;
  uint64_t size;
};

class GuestMemoryRegion {
 public:
  GuestMemoryRegion(GuestAddress start, Mmap mapping)
      : start_(start), mapping_(std::move(mapping)) {}
  GuestAddress start() const { return start_; }
  uint64_t size() const { return mapping_.size(); }
  // For registering the region with KVM (vmm only).
  uint8_t* host_address() const { return mapping_.data(); }
  bool contains(GuestAddress addr, uint64_t len) const {
    return addr >= start_ && range_within(addr.value() - start_.value(), len, size());
  }

 private:
  GuestAddress start_;
  Mmap mapping_;
};

class GuestMemory {
 public:
  // Allocates anonymous memory for each region. Regions must be page-aligned, non-empty and
  // non-overlapping.
  static Result<GuestMemory> create(const std::vector<GuestRegionSpec>& specs);

  GuestMemory(GuestMemory&&) = default;
  GuestMemory& operator=(GuestMemory&&) = default;

  const std::vector<GuestMemoryRegion>& regions() const { return regions_; }
  // Sum of region sizes.
  uint64_t total_size() const;
  // The address just past the highest region.
  GuestAddress end() const;

  bool is_valid_range(GuestAddress addr, uint64_t len) const { return find(addr, len) != nullptr; }

  Status read(GuestAddress addr, std::span<uint8_t> out) const;
  Status write(GuestAddress addr, std::span<const uint8_t> data) const;
  Status fill(GuestAddress addr, uint8_t value, uint64_t len) const;

  // A contiguous view of [addr, addr+len) if it lies wholly inside one region.
  Result<std::span<uint8_t>> span(GuestAddress addr, uint64_t len) const;

  template <typename T>
  Result<T> read_obj(GuestAddress addr) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    TRY(read(addr, std::span(reinterpret_cast<uint8_t*>(&value), sizeof(T))));  // SAFETY: POD
    return value;
  }

  template <typename T>
  Status write_obj(GuestAddress addr, const T& value) const {
    static_assert(std::is_trivially_copyable_v<T>);
    // SAFETY: trivially copyable object viewed as bytes.
    return write(addr, std::span(reinterpret_cast<const uint8_t*>(&value), sizeof(T)));
  }

  // Atomic accessors for fields shared with a running guest (ring indices). The address must be
  // naturally aligned.
  template <typename T>
  Result<T> load_acquire(GuestAddress addr) const {
    T* p = TRY(atomic_ptr<T>(addr));
    return std::atomic_ref<T>(*p).load(std::memory_order_acquire);
  }
  template <typename T>
  Status store_release(GuestAddress addr, T value) const {
    T* p = TRY(atomic_ptr<T>(addr));
    std::atomic_ref<T>(*p).store(value, std::memory_order_release);
    return {};
  }

 private:
  explicit GuestMemory(std::vector<GuestMemoryRegion> regions) : regions_(std::move(regions)) {}
  const GuestMemoryRegion* find(GuestAddress addr, uint64_t len) const;
  Error out_of_range(GuestAddress addr, uint64_t len) const;

  template <typename T>
  Result<T*> atomic_ptr(GuestAddress addr) const {
    static_assert(std::is_integral_v<T>);
    if (addr.value() % alignof(T) != 0) {
      return Error("unaligned guest atomic at 0x" + hex(addr.value()));
    }
    auto bytes = TRY(span(addr, sizeof(T)));
    return reinterpret_cast<T*>(bytes.data());  // SAFETY: in bounds and aligned, checked above
  }
  static std::string hex(uint64_t v);

  std::vector<GuestMemoryRegion> regions_;
};

}  // namespace vmkit
