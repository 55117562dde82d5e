// Small file helpers with errors that name the path.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace vmkit {

Result<UniqueFd> open_file(const std::string& path, int flags, int mode = 0);
Result<uint64_t> file_size(int fd, const std::string& path);
// Reads the whole file (for kernels and config files; not for disk images).
Result<std::vector<uint8_t>> read_file(const std::string& path);
// Reads exactly out.size() bytes from `offset`; a short file is an error naming the path.
Status read_exact(int fd, std::span<uint8_t> out, uint64_t offset, const std::string& path);
// Writes all of data (retrying short writes and EINTR).
Status write_all(int fd, std::span<const uint8_t> data);

}  // namespace vmkit
