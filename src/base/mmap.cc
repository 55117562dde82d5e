#include "base/mmap.h"

#include <sys/mman.h>

#include <string>

namespace vmkit {

Result<Mmap> Mmap::anonymous(size_t size, size_t align) {
  size_t extra = align > 4096 ? align : 0;
  void* p = ::mmap(nullptr, size + extra, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return Error::from_errno("mmap " + std::to_string(size) + " bytes");
  auto* base = static_cast<uint8_t*>(p);
  if (extra) {
    auto addr = reinterpret_cast<uintptr_t>(base);  // SAFETY: address arithmetic only
    uintptr_t aligned = (addr + align - 1) & ~(uintptr_t{align} - 1);
    size_t head = aligned - addr;
    if (head) ::munmap(base, head);
    if (extra - head) ::munmap(base + head + size, extra - head);
    base += head;
    ::madvise(base, size, MADV_HUGEPAGE);  // best effort: THP may be off
  }
  return Mmap(base, size);
}

Result<Mmap> Mmap::file(int fd, size_t size, int prot, uint64_t offset) {
  void* p = ::mmap(nullptr, size, prot, MAP_SHARED, fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) return Error::from_errno("mmap file " + std::to_string(size) + " bytes");
  return Mmap(static_cast<uint8_t*>(p), size);
}

Mmap& Mmap::operator=(Mmap&& other) noexcept {
  if (this != &other) {
    if (addr_) ::munmap(addr_, size_);
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Mmap::~Mmap() {
  if (addr_) ::munmap(addr_, size_);
}

}  // namespace vmkit
