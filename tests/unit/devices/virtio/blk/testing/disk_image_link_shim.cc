// Linked into test binaries only while the tree has no vmkit_disk library (src/disk is built
// by another branch): DiskImage's out-of-line members, so that test images can derive from
// it. With vmkit_disk present the real definitions are used and this file is not compiled.
#include <cerrno>

#include "disk/disk_image.h"

namespace vmkit {

Result<std::unique_ptr<DiskQueue>> DiskImage::open_queue(unsigned) {
  return Error("DiskImage::open_queue: vmkit_disk is not linked into this binary");
}

int execute_sync(DiskImage&, const IoRequest&) {
  return -ENOSYS;
}

}  // namespace vmkit
