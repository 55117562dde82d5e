// The format-probing hole, closed as QEMU closes it: when an image's format was not given and
// probing found raw, a guest could write a qcow2 header into its first sector and be probed as
// qcow2 on the next start (and name any host file as its backing file). This decorator refuses
// guest writes that would put a recognised image magic at offset 0. Giving format=raw explicitly
// removes the restriction.
#pragma once

#include <memory>

#include "disk/disk_image.h"

namespace vmkit {

// True when writing `iov` at `offset` would leave a known image magic in bytes 0-3.
bool writes_image_magic(uint64_t offset, std::span<const iovec> iov);

std::unique_ptr<DiskImage> guard_probed_raw(std::unique_ptr<DiskImage> raw);

}  // namespace vmkit
