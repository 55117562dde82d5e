// create_disk_image: raw and qcow2 images, built in a temporary file next to the target and
// renamed into place only when complete, so a failure never leaves a half-made image behind.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "base/checked.h"
#include "base/size.h"
#include "disk/disk_open.h"
#include "disk/image_file.h"
#include "disk/iov_util.h"
#include "disk/qcow2_format.h"
#include "disk/qcow2_image.h"

namespace vmkit {

namespace {

// Removes the temporary file unless committed.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  ~TempFile() {
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  void commit() { committed_ = true; }

 private:
  std::string path_;
  bool committed_ = false;
};

Status validate(const CreateOptions& o) {
  if (o.format != "raw" && o.format != "qcow2") {
    return Error("unknown image format '" + o.format + "' (supported: raw, qcow2)", EINVAL);
  }
  if (o.format == "raw") {
    if (!o.backing.empty()) return Error("raw images cannot have a backing file", EINVAL);
    if (o.preallocation == Preallocation::kMetadata) {
      return Error("preallocation 'metadata' needs the qcow2 format", EINVAL);
    }
    return {};
  }
  if (!is_power_of_two(o.cluster_size) || o.cluster_size < 512 || o.cluster_size > (2u << 20)) {
    return Error("cluster size must be a power of two between 512 and 2M, not " +
                     std::to_string(o.cluster_size),
                 EINVAL);
  }
  if (o.version != 2 && o.version != 3) return Error("qcow2 version must be 2 or 3", EINVAL);
  if (!is_power_of_two(o.refcount_bits) || o.refcount_bits > 64) {
    return Error("refcount bits must be 1, 2, 4, 8, 16, 32 or 64", EINVAL);
  }
  if (o.version == 2 && o.refcount_bits != 16) {
    return Error("qcow2 version 2 (compat 0.10) only has 16-bit refcounts", EINVAL);
  }
  if (o.version == 2 && o.lazy_refcounts) {
    return Error("lazy refcounts need qcow2 version 3 (compat 1.1)", EINVAL);
  }
  if (!o.backing.empty() && o.preallocation != Preallocation::kOff) {
    return Error("preallocation cannot be combined with a backing file", EINVAL);
  }
  if (o.size && *o.size % 512 != 0) {
    return Error("qcow2 image size must be a multiple of 512 bytes", EINVAL);
  }
  return {};
}

Status write_raw(const std::string& path, uint64_t size, Preallocation prealloc) {
  ImageFile file = TRY(ImageFile::open(path, true, CacheMode::kWriteback));
  TRY(file.truncate(size));
  if (prealloc == Preallocation::kFalloc) TRY(file.allocate(0, size));
  if (prealloc == Preallocation::kFull) {
    AlignedBuffer zeros(1 << 20);
    for (uint64_t off = 0; off < size; off += zeros.size()) {
      TRY(file.write(zeros.data(),
                     static_cast<size_t>(std::min<uint64_t>(zeros.size(), size - off)), off));
    }
  }
  return file.sync();
}

// An empty qcow2 image (header, one-cluster refcount table, one refcount block, no L1 table),
// then grown to `size` and preallocated through Qcow2Image itself.
Status write_qcow2(const std::string& path, const CreateOptions& o, uint64_t size) {
  qcow2::Header h;
  h.version = o.version;
  h.cluster_bits = static_cast<uint32_t>(__builtin_ctzll(o.cluster_size));
  h.size = 0;
  h.refcount_order = static_cast<uint32_t>(__builtin_ctz(o.refcount_bits));
  h.refcount_table_offset = o.cluster_size;
  h.refcount_table_clusters = 1;
  h.compatible_features = o.lazy_refcounts ? qcow2::kCompatLazyRefcounts : 0;
  h.backing_file = o.backing;
  h.backing_format = o.backing.empty() ? "" : o.backing_format;
  std::vector<uint8_t> header = TRY(qcow2::serialize_header(h));
  std::vector<uint8_t> image(3 * o.cluster_size, 0);
  std::copy(header.begin(), header.end(), image.begin());
  qcow2::store_be64(image.data() + o.cluster_size, 2 * o.cluster_size);  // refcount block
  uint8_t* block = image.data() + 2 * o.cluster_size;
  for (uint64_t c = 0; c < 3; ++c) qcow2::Refcounts::write_entry(block, c, h.refcount_order, 1);
  {
    ImageFile file = TRY(ImageFile::open(path, true, CacheMode::kWriteback));
    TRY(file.write(image.data(), image.size(), 0));
    TRY(file.sync());
  }
  ImageFile file = TRY(ImageFile::open(path, true, CacheMode::kWriteback));
  qcow2::Header parsed = TRY(qcow2::parse_header(header, image.size()));
  auto q = TRY(Qcow2Image::open(std::move(file), std::move(parsed), nullptr));
  TRY(q->resize(size));
  TRY(q->preallocate(o.preallocation));
  return q->flush();
}

}  // namespace

Status create_disk_image(const std::string& path, const CreateOptions& options) {
  CreateOptions o = options;
  TRY(validate(o));
  struct stat st {};
  bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && !o.force)
    return Error(path + " already exists (use --force to replace it)", EEXIST);
  if (exists && !S_ISREG(st.st_mode)) return Error(path + " is not a regular file", EINVAL);
  if (!o.backing.empty()) {
    // The backing chain must be readable, and must not contain the image being replaced.
    std::string bpath = TRY(resolve_backing_path(path, o.backing));
    auto chain = inspect_image_chain(bpath, o.backing_format);
    if (!chain.ok()) return chain.error().context("backing file " + o.backing);
    if (o.backing_format.empty()) o.backing_format = chain->front().format;
    if (exists) {
      for (const ImageInfo& info : *chain) {
        struct stat bst {};
        if (::stat(info.filename.c_str(), &bst) == 0 && bst.st_dev == st.st_dev &&
            bst.st_ino == st.st_ino) {
          return Error("backing file loop: " + path + " would be its own backing file", ELOOP);
        }
      }
    }
    if (!o.size) o.size = chain->front().virtual_size;
  }
  if (!o.size) return Error("no size given (and no backing file to take it from)", EINVAL);
  if (o.format == "qcow2" && *o.size % 512 != 0) {
    return Error("qcow2 image size must be a multiple of 512 bytes", EINVAL);
  }

  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmpl = dir + "/." + name + ".vmkit-XXXXXX";
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return Error::from_errno("creating " + path);
  ::fchmod(fd, 0644);
  ::close(fd);
  TempFile tmp(tmpl);
  if (o.format == "raw") {
    TRY(write_raw(tmp.path(), *o.size, o.preallocation));
  } else {
    TRY(write_qcow2(tmp.path(), o, *o.size));
  }
  if (o.force) {
    if (::rename(tmp.path().c_str(), path.c_str()) != 0)
      return Error::from_errno("rename to " + path);
  } else {
    // link() fails if the name appeared meanwhile: never overwrite without --force.
    if (::link(tmp.path().c_str(), path.c_str()) != 0) return Error::from_errno("creating " + path);
  }
  if (o.force) tmp.commit();
  return {};
}

}  // namespace vmkit
