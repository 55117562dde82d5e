// The host file behind a disk image: positional scatter-gather I/O that never stops short,
// O_DIRECT with bounce buffers for requests the file system cannot take directly, flush,
// hole punching and zeroing. Thread-safe (positional I/O only; no shared file offset).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <mutex>
#include <span>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "disk/disk_image.h"

namespace vmkit {

class ImageFile {
 public:
  // Opens `path`. With CacheMode::kNone it asks for O_DIRECT and falls back to the page cache
  // when the file system refuses it (then `note` says so).
  static Result<ImageFile> open(const std::string& path, bool writable, CacheMode cache);
  // Wraps an already open descriptor (tests, fuzzers: a memfd).
  static ImageFile from_fd(UniqueFd fd, bool writable);

  ImageFile(ImageFile&&) noexcept;
  ImageFile& operator=(ImageFile&&) noexcept;
  ~ImageFile();

  int fd() const { return fd_.get(); }
  bool writable() const { return writable_; }
  bool direct() const { return direct_; }
  bool is_block_device() const { return block_device_; }
  const std::string& path() const { return path_; }
  // Why O_DIRECT was not used although asked for (empty otherwise).
  const std::string& note() const { return note_; }

  // Reads exactly the list's length at `offset`; bytes past the end of the file read as zero.
  Status readv(std::span<const iovec> iov, uint64_t offset) const;
  // Writes the whole list at `offset`.
  Status writev(std::span<const iovec> iov, uint64_t offset) const;
  Status read(void* buf, size_t len, uint64_t offset) const;
  Status write(const void* buf, size_t len, uint64_t offset) const;

  Status sync() const;  // fdatasync
  Result<uint64_t> size() const;
  Status truncate(uint64_t size) const;
  // Deallocates the range (it reads as zeros); EOPNOTSUPP when the file system cannot.
  Status punch_hole(uint64_t offset, uint64_t len) const;
  // Makes the range read as zeros, by fallocate if possible, by writing zeros otherwise.
  Status write_zeroes(uint64_t offset, uint64_t len, bool may_unmap) const;
  // Allocates blocks for the range (posix_fallocate semantics, may grow the file).
  Status allocate(uint64_t offset, uint64_t len) const;

  // True when O_DIRECT is on and the request is not aligned as the file system requires
  // (readv/writev then go through a bounce buffer).
  bool needs_bounce(std::span<const iovec> iov, uint64_t offset) const;

 private:
  ImageFile(UniqueFd fd, std::string path, bool writable, bool direct);
  Status bounce_readv(std::span<const iovec> iov, uint64_t offset) const;
  Status bounce_writev(std::span<const iovec> iov, uint64_t offset) const;

  UniqueFd fd_;
  std::string path_;
  std::string note_;
  bool writable_ = false;
  bool direct_ = false;
  bool block_device_ = false;
  uint32_t offset_align_ = 1;  // O_DIRECT alignment of file offsets and lengths
  uint32_t memory_align_ = 1;  // O_DIRECT alignment of buffers
  // Serializes read-modify-write cycles of unaligned O_DIRECT writes.
  std::unique_ptr<std::mutex> rmw_lock_;
};

}  // namespace vmkit
