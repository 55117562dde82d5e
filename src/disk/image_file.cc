#include "disk/image_file.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "base/checked.h"
#include "disk/dio_align.h"
#include "disk/iov_util.h"

namespace vmkit {

ImageFile::ImageFile(UniqueFd fd, std::string path, bool writable, bool direct)
    : fd_(std::move(fd)),
      path_(std::move(path)),
      writable_(writable),
      direct_(direct),
      rmw_lock_(std::make_unique<std::mutex>()) {
  struct stat st {};
  if (::fstat(fd_.get(), &st) == 0) block_device_ = S_ISBLK(st.st_mode);
  if (direct_) {
    DioAlignment a = query_dio_alignment(fd_.get());
    offset_align_ = a.offset;
    memory_align_ = a.memory;
  }
}

ImageFile::ImageFile(ImageFile&&) noexcept = default;
ImageFile& ImageFile::operator=(ImageFile&&) noexcept = default;
ImageFile::~ImageFile() = default;

Result<ImageFile> ImageFile::open(const std::string& path, bool writable, CacheMode cache) {
  int flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
  std::string note;
  if (cache == CacheMode::kNone) {
    int fd = ::open(path.c_str(), flags | O_DIRECT);
    if (fd >= 0) return ImageFile(UniqueFd(fd), path, writable, true);
    if (errno != EINVAL) return Error::from_errno("open " + path);
    note = "O_DIRECT not supported by the file system; using the page cache";
  }
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return Error::from_errno("open " + path);
  ImageFile file(UniqueFd(fd), path, writable, false);
  file.note_ = note;
  return file;
}

ImageFile ImageFile::from_fd(UniqueFd fd, bool writable) {
  int fl = ::fcntl(fd.get(), F_GETFL);
  bool direct = fl >= 0 && (fl & O_DIRECT);
  return ImageFile(std::move(fd), "<fd>", writable, direct);
}

bool ImageFile::needs_bounce(std::span<const iovec> iov, uint64_t offset) const {
  if (!direct_) return false;
  if (offset % offset_align_ != 0) return true;
  for (const iovec& v : iov) {
    // SAFETY: the address is only inspected for alignment.
    auto base = reinterpret_cast<uintptr_t>(v.iov_base);
    if (base % memory_align_ != 0 || v.iov_len % offset_align_ != 0) return true;
  }
  return false;
}

namespace {

// Advances `iov` (a private copy) past `done` bytes.
void advance(std::vector<iovec>& iov, size_t& first, size_t done) {
  while (done > 0 && first < iov.size()) {
    size_t n = std::min(done, iov[first].iov_len);
    iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + n;
    iov[first].iov_len -= n;
    done -= n;
    if (iov[first].iov_len == 0) ++first;
  }
  while (first < iov.size() && iov[first].iov_len == 0) ++first;
}

}  // namespace

Status ImageFile::readv(std::span<const iovec> iov_in, uint64_t offset) const {
  if (needs_bounce(iov_in, offset)) return bounce_readv(iov_in, offset);
  // Fast path: one syscall transfers everything (no copy of the iovec list).
  if (iov_in.size() <= IOV_MAX) {
    ssize_t n = ::preadv(fd_.get(), iov_in.data(), static_cast<int>(iov_in.size()),
                         static_cast<off_t>(offset));
    if (n >= 0 && static_cast<size_t>(n) == iov_length(iov_in)) return {};
    // Otherwise redo it the careful way (EINTR, short reads, end of file).
  }
  std::vector<iovec> iov(iov_in.begin(), iov_in.end());
  size_t first = 0;
  advance(iov, first, 0);
  while (first < iov.size()) {
    int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    ssize_t n = ::preadv(fd_.get(), &iov[first], count, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("read " + path_ + " at " + std::to_string(offset));
    }
    if (n == 0) {  // end of file: the rest reads as zeros
      for (size_t i = first; i < iov.size(); ++i) {
        std::fill_n(static_cast<uint8_t*>(iov[i].iov_base), iov[i].iov_len, 0);
      }
      break;
    }
    offset += static_cast<uint64_t>(n);
    advance(iov, first, static_cast<size_t>(n));
  }
  return {};
}

Status ImageFile::writev(std::span<const iovec> iov_in, uint64_t offset) const {
  if (!writable_) return Error("write " + path_ + ": image is read-only", EROFS);
  if (needs_bounce(iov_in, offset)) return bounce_writev(iov_in, offset);
  if (iov_in.size() <= IOV_MAX) {
    ssize_t n = ::pwritev(fd_.get(), iov_in.data(), static_cast<int>(iov_in.size()),
                          static_cast<off_t>(offset));
    if (n >= 0 && static_cast<size_t>(n) == iov_length(iov_in)) return {};
    if (n > 0) {  // partial: continue after what was written
      std::vector<iovec> rest;
      iov_slice(iov_in, static_cast<uint64_t>(n), iov_length(iov_in) - static_cast<uint64_t>(n),
                rest);
      return writev(rest, offset + static_cast<uint64_t>(n));
    }
  }
  std::vector<iovec> iov(iov_in.begin(), iov_in.end());
  size_t first = 0;
  advance(iov, first, 0);
  while (first < iov.size()) {
    int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    ssize_t n = ::pwritev(fd_.get(), &iov[first], count, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("write " + path_ + " at " + std::to_string(offset));
    }
    if (n == 0) return Error("write " + path_ + ": no progress", EIO);
    offset += static_cast<uint64_t>(n);
    advance(iov, first, static_cast<size_t>(n));
  }
  return {};
}

// O_DIRECT with an unaligned request: go through an aligned buffer covering the request.
Status ImageFile::bounce_readv(std::span<const iovec> iov, uint64_t offset) const {
  uint64_t len = iov_length(iov);
  uint64_t start = align_down(offset, offset_align_);
  uint64_t end = align_up(offset + len, offset_align_);
  AlignedBuffer buf(static_cast<size_t>(end - start));
  iovec v = buf.as_iovec();
  TRY(readv({&v, 1}, start));
  iov_from_buf(iov, 0, buf.data() + (offset - start), len);
  return {};
}

Status ImageFile::bounce_writev(std::span<const iovec> iov, uint64_t offset) const {
  uint64_t len = iov_length(iov);
  uint64_t start = align_down(offset, offset_align_);
  uint64_t end = align_up(offset + len, offset_align_);
  AlignedBuffer buf(static_cast<size_t>(end - start));
  iovec v = buf.as_iovec();
  std::lock_guard guard(*rmw_lock_);
  if (start != offset || end != offset + len) TRY(readv({&v, 1}, start));
  iov_to_buf(iov, 0, buf.data() + (offset - start), len);
  return writev({&v, 1}, start);
}

Status ImageFile::read(void* buf, size_t len, uint64_t offset) const {
  iovec v{buf, len};
  return readv({&v, 1}, offset);
}

Status ImageFile::write(const void* buf, size_t len, uint64_t offset) const {
  iovec v{const_cast<void*>(buf), len};
  return writev({&v, 1}, offset);
}

Status ImageFile::sync() const {
  if (::fdatasync(fd_.get()) != 0) return Error::from_errno("fdatasync " + path_);
  return {};
}

Result<uint64_t> ImageFile::size() const {
  if (block_device_) {
    uint64_t bytes = 0;
    if (::ioctl(fd_.get(), BLKGETSIZE64, &bytes) != 0) return Error::from_errno("BLKGETSIZE64");
    return bytes;
  }
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return Error::from_errno("stat " + path_);
  return static_cast<uint64_t>(st.st_size);
}

Status ImageFile::truncate(uint64_t size) const {
  if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0) {
    return Error::from_errno("truncate " + path_ + " to " + std::to_string(size));
  }
  return {};
}

Status ImageFile::punch_hole(uint64_t offset, uint64_t len) const {
  if (!writable_) return Error("discard " + path_ + ": image is read-only", EROFS);
  if (len == 0) return {};
  if (::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                  static_cast<off_t>(len)) != 0) {
    return Error::from_errno("punch hole in " + path_);
  }
  return {};
}

Status ImageFile::write_zeroes(uint64_t offset, uint64_t len, bool may_unmap) const {
  if (!writable_) return Error("write zeroes " + path_ + ": image is read-only", EROFS);
  if (len == 0) return {};
  auto off = static_cast<off_t>(offset);
  auto n = static_cast<off_t>(len);
  if (may_unmap &&
      ::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, n) == 0) {
    return {};
  }
  if (::fallocate(fd_.get(), FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, n) == 0) return {};
  // The file system has neither: write zeros, 1 MiB at a time.
  AlignedBuffer zeros(static_cast<size_t>(std::min<uint64_t>(len, 1 << 20)));
  while (len > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(len, zeros.size()));
    TRY(write(zeros.data(), chunk, offset));
    offset += chunk;
    len -= chunk;
  }
  return {};
}

Status ImageFile::allocate(uint64_t offset, uint64_t len) const {
  if (len == 0) return {};
  int err = ::posix_fallocate(fd_.get(), static_cast<off_t>(offset), static_cast<off_t>(len));
  if (err != 0) return Error::from_errno("fallocate " + path_, err);
  return {};
}

}  // namespace vmkit
