// Opening disk images by path: format selection (only the qcow2 magic is ever detected; a file
// named as raw stays raw), qcow2 backing chains of any depth with QEMU's path rules and loop
// detection, creation of new images, and a header-only description for `vmkit disk info`.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "disk/disk_image.h"
#include "disk/qcow2_format.h"
#include "disk/qcow2_image.h"

namespace vmkit {

struct DiskOpenOptions {
  std::string format;  // "raw", "qcow2", or empty to detect
  bool read_only = false;
  CacheMode cache = CacheMode::kWriteback;
  bool open_backing = true;  // false: images with a backing file are refused
};

// Opens an image and (read-only) its whole backing chain.
Result<std::unique_ptr<DiskImage>> open_disk_image(const std::string& path,
                                                   const DiskOpenOptions& options);

// "qcow2" if the file starts with the qcow2 magic, "raw" otherwise.
Result<std::string> detect_format(const std::string& path);

// The path a backing file name refers to: absolute names as they are, relative ones relative
// to the directory of the image that names them (as QEMU does). Protocol names ("nbd:...",
// "json:{...}") are refused; a "file:" prefix is accepted.
Result<std::string> resolve_backing_path(const std::string& image_path, const std::string& name);

struct CreateOptions {
  std::string format = "qcow2";
  std::optional<uint64_t> size;  // defaults to the backing file's size
  std::string backing;           // stored as given; resolved relative to the new image
  std::string backing_format;    // detected from the backing file when empty
  Preallocation preallocation = Preallocation::kOff;
  uint64_t cluster_size = 65536;
  uint32_t refcount_bits = 16;
  uint32_t version = 3;  // 2 = compat 0.10, 3 = compat 1.1
  bool lazy_refcounts = false;
  bool force = false;  // replace an existing file
};

// Creates the image atomically: a temporary file in the same directory, renamed into place
// when complete, removed on any failure.
Status create_disk_image(const std::string& path, const CreateOptions& options);

struct ImageInfo {
  std::string filename;
  std::string format;
  uint64_t virtual_size = 0;
  uint64_t actual_size = 0;  // bytes allocated on the host
  std::optional<qcow2::Header> qcow2;
  std::string backing_filename;       // as stored
  std::string full_backing_filename;  // resolved
  std::string backing_format;         // as stored in the header (empty if not recorded)
};

// Describes an image and its backing chain (element 0 is the image itself) from their headers.
Result<std::vector<ImageInfo>> inspect_image_chain(const std::string& path,
                                                   const std::string& format);

}  // namespace vmkit
