// O_DIRECT alignment requirements of an open file (statx STATX_DIOALIGN, or safe defaults).
#pragma once

#include <cstdint>

namespace vmkit {

struct DioAlignment {
  uint32_t offset = 4096;  // file offsets and lengths
  uint32_t memory = 4096;  // buffer addresses
};

DioAlignment query_dio_alignment(int fd);

}  // namespace vmkit
