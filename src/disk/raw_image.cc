#include "disk/raw_image.h"

#include "base/checked.h"
#include "base/log.h"
#include "disk/iov_util.h"
#include "disk/sync_queue.h"
#include "disk/uring_queue.h"

namespace vmkit {

Result<std::unique_ptr<RawImage>> RawImage::open(const std::string& path, bool read_only,
                                                 CacheMode cache) {
  auto file = TRY(ImageFile::open(path, !read_only, cache));
  if (!file.note().empty()) LOG_INFO("{}: {}", path, file.note());
  return from_file(std::move(file));
}

Result<std::unique_ptr<RawImage>> RawImage::from_file(ImageFile file) {
  uint64_t size = TRY(file.size());
  return std::unique_ptr<RawImage>(new RawImage(std::move(file), size));
}

Status RawImage::check_range(uint64_t offset, uint64_t length) const {
  if (!range_within(offset, length, size_)) {
    return Error("request [" + std::to_string(offset) + ", +" + std::to_string(length) +
                     ") beyond the end of the disk (" + std::to_string(size_) + ")",
                 EINVAL);
  }
  return {};
}

Status RawImage::read(uint64_t offset, std::span<const iovec> iov) {
  TRY(check_range(offset, iov_length(iov)));
  return file_.readv(iov, offset);
}

Status RawImage::write(uint64_t offset, std::span<const iovec> iov) {
  TRY(check_range(offset, iov_length(iov)));
  return file_.writev(iov, offset);
}

Status RawImage::flush() {
  return file_.sync();
}

Status RawImage::discard(uint64_t offset, uint64_t length) {
  TRY(check_range(offset, length));
  Status s = file_.punch_hole(offset, length);
  // Discard is a hint: a file system without hole punching just keeps the blocks.
  if (!s.ok() && s.error().sys_errno() == EOPNOTSUPP) return {};
  return s;
}

Status RawImage::write_zeroes(uint64_t offset, uint64_t length, bool may_unmap) {
  TRY(check_range(offset, length));
  return file_.write_zeroes(offset, length, may_unmap);
}

Result<std::unique_ptr<DiskQueue>> RawImage::open_queue(unsigned depth) {
  auto queue = UringDiskQueue::create(*this, file_, depth);
  if (queue.ok()) return std::unique_ptr<DiskQueue>(std::move(queue).value());
  LOG_WARN("{}: io_uring unavailable ({}); using synchronous I/O", file_.path(),
           queue.error().message());
  return DiskImage::open_queue(depth);
}

}  // namespace vmkit
