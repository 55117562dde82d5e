// Helpers over scatter-gather lists (iovec spans): length, slicing a byte range, copying to and
// from flat buffers, zero-filling, and an aligned heap buffer for O_DIRECT and metadata I/O.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

namespace vmkit {

size_t iov_length(std::span<const iovec> iov);

// Appends to `out` the pieces of `iov` covering bytes [offset, offset + len).
void iov_slice(std::span<const iovec> iov, uint64_t offset, uint64_t len, std::vector<iovec>& out);

// Zeroes bytes [offset, offset + len) of the list.
void iov_zero(std::span<const iovec> iov, uint64_t offset, uint64_t len);

// Copies `len` bytes from `src` into the list at `offset`.
void iov_from_buf(std::span<const iovec> iov, uint64_t offset, const void* src, uint64_t len);

// Copies `len` bytes of the list at `offset` into `dst`.
void iov_to_buf(std::span<const iovec> iov, uint64_t offset, void* dst, uint64_t len);

// True when every iovec's base and length are multiples of `align` (a power of two).
bool iov_aligned(std::span<const iovec> iov, size_t align);

bool buffer_is_zero(const void* data, size_t len);

// A zero-initialized heap buffer aligned for O_DIRECT (4 KiB).
class AlignedBuffer {
 public:
  static constexpr size_t kAlign = 4096;
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t size);

  uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  iovec as_iovec() const { return {data_.get(), size_}; }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t size_ = 0;
};

}  // namespace vmkit
