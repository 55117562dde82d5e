// Kept apart from other sources: it needs the kernel's struct statx (with the DIO fields), which
// glibc 2.36's <sys/stat.h> declares without them.
#include "disk/dio_align.h"

#include <fcntl.h>
#include <linux/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace vmkit {

DioAlignment query_dio_alignment(int fd) {
  DioAlignment result;
  struct statx stx {};
  long rc = ::syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx);
  if (rc == 0 && (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align != 0) {
    result.offset = stx.stx_dio_offset_align;
    result.memory = stx.stx_dio_mem_align != 0 ? stx.stx_dio_mem_align : 1;
  }
  return result;
}

}  // namespace vmkit
