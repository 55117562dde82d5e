#include "disk/iov_util.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "base/checked.h"

namespace vmkit {

size_t iov_length(std::span<const iovec> iov) {
  size_t total = 0;
  for (const iovec& v : iov) total += v.iov_len;
  return total;
}

namespace {

// Calls fn(base, len) for each piece of [offset, offset + len) of the list.
template <typename Fn>
void for_each_piece(std::span<const iovec> iov, uint64_t offset, uint64_t len, Fn&& fn) {
  for (const iovec& v : iov) {
    if (len == 0) break;
    if (offset >= v.iov_len) {
      offset -= v.iov_len;
      continue;
    }
    uint64_t n = std::min<uint64_t>(v.iov_len - offset, len);
    fn(static_cast<uint8_t*>(v.iov_base) + offset, static_cast<size_t>(n));
    len -= n;
    offset = 0;
  }
}

}  // namespace

void iov_slice(std::span<const iovec> iov, uint64_t offset, uint64_t len, std::vector<iovec>& out) {
  for_each_piece(iov, offset, len, [&](uint8_t* p, size_t n) { out.push_back({p, n}); });
}

void iov_zero(std::span<const iovec> iov, uint64_t offset, uint64_t len) {
  for_each_piece(iov, offset, len, [](uint8_t* p, size_t n) { std::memset(p, 0, n); });
}

void iov_from_buf(std::span<const iovec> iov, uint64_t offset, const void* src, uint64_t len) {
  auto* s = static_cast<const uint8_t*>(src);
  for_each_piece(iov, offset, len, [&](uint8_t* p, size_t n) {
    std::memcpy(p, s, n);
    s += n;
  });
}

void iov_to_buf(std::span<const iovec> iov, uint64_t offset, void* dst, uint64_t len) {
  auto* d = static_cast<uint8_t*>(dst);
  for_each_piece(iov, offset, len, [&](uint8_t* p, size_t n) {
    std::memcpy(d, p, n);
    d += n;
  });
}

bool iov_aligned(std::span<const iovec> iov, size_t align) {
  for (const iovec& v : iov) {
    // SAFETY: the address is only inspected for alignment, never dereferenced.
    auto base = reinterpret_cast<uintptr_t>(v.iov_base);
    if ((base | v.iov_len) & (align - 1)) return false;
  }
  return true;
}

bool buffer_is_zero(const void* data, size_t len) {
  auto* p = static_cast<const uint8_t*>(data);
  // Word-at-a-time after the first bytes; memcmp against itself shifted by one word.
  if (len == 0) return true;
  if (len < 16) {
    for (size_t i = 0; i < len; ++i) {
      if (p[i]) return false;
    }
    return true;
  }
  for (size_t i = 0; i < 16; ++i) {
    if (p[i]) return false;
  }
  return std::memcmp(p, p + 16, len - 16) == 0;
}

AlignedBuffer::AlignedBuffer(size_t size) : size_(size) {
  size_t alloc = std::max<size_t>(align_up(size, kAlign), kAlign);
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(kAlign, alloc));
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, alloc);
  data_.reset(p);
}

}  // namespace vmkit
