// An owned memory mapping, unmapped on destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "base/result.h"

namespace vmkit {

class Mmap {
 public:
  Mmap() = default;
  // Anonymous private memory (guest RAM): MAP_NORESERVE so untouched pages cost nothing.
  // Aligned to `align` (a power of two): guest RAM is 2 MiB-aligned so that the host can back it
  // with transparent huge pages and KVM can map it with 2 MiB pages (guest-physical and host
  // addresses congruent modulo 2 MiB).
  static Result<Mmap> anonymous(size_t size, size_t align = 0);
  // A shared mapping of a file range.
  static Result<Mmap> file(int fd, size_t size, int prot, uint64_t offset = 0);

  Mmap(Mmap&& other) noexcept
      : addr_(std::exchange(other.addr_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  Mmap& operator=(Mmap&& other) noexcept;
  Mmap(const Mmap&) = delete;
  Mmap& operator=(const Mmap&) = delete;
  ~Mmap();

  uint8_t* data() const { return addr_; }
  size_t size() const { return size_; }

 private:
  Mmap(uint8_t* addr, size_t size) : addr_(addr), size_(size) {}
  uint8_t* addr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace vmkit
