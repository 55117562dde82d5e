// A raw disk image: the file (or block device) is the disk, byte for byte. Reads and writes are
// preadv/pwritev (O_DIRECT with cache=none where the file system allows it), flush is fdatasync,
// discard punches holes, write-zeroes uses FALLOC_FL_ZERO_RANGE (or a hole when allowed to unmap).
// Queues use io_uring. Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "disk/disk_image.h"
#include "disk/image_file.h"

namespace vmkit {

class RawImage final : public DiskImage {
 public:
  static Result<std::unique_ptr<RawImage>> open(const std::string& path, bool read_only,
                                                CacheMode cache);
  static Result<std::unique_ptr<RawImage>> from_file(ImageFile file);

  std::string format() const override { return "raw"; }
  uint64_t virtual_size() const override { return size_; }
  bool read_only() const override { return !file_.writable(); }

  Status read(uint64_t offset, std::span<const iovec> iov) override;
  Status write(uint64_t offset, std::span<const iovec> iov) override;
  Status flush() override;
  Status discard(uint64_t offset, uint64_t length) override;
  Status write_zeroes(uint64_t offset, uint64_t length, bool may_unmap) override;
  // An io_uring queue; the synchronous queue if io_uring is unavailable.
  Result<std::unique_ptr<DiskQueue>> open_queue(unsigned depth) override;

  const ImageFile& file() const { return file_; }

 private:
  RawImage(ImageFile file, uint64_t size) : file_(std::move(file)), size_(size) {}
  Status check_range(uint64_t offset, uint64_t length) const;

  ImageFile file_;
  uint64_t size_;
};

}  // namespace vmkit
