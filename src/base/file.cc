#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vmkit {

Result<UniqueFd> open_file(const std::string& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return Error::from_errno(path);
  return UniqueFd(fd);
}

Result<uint64_t> file_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) < 0) return Error::from_errno(path);
  if (S_ISBLK(st.st_mode)) {
    off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) return Error::from_errno(path);
    return static_cast<uint64_t>(end);
  }
  if (!S_ISREG(st.st_mode)) return Error(path + ": not a regular file");
  return static_cast<uint64_t>(st.st_size);
}

Status read_exact(int fd, std::span<uint8_t> out, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(path);
    }
    if (n == 0) return Error(path + ": file is shorter than expected");
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<std::vector<uint8_t>> read_file(const std::string& path) {
  UniqueFd fd = TRY(open_file(path, O_RDONLY));
  uint64_t size = TRY(file_size(fd.get(), path));
  std::vector<uint8_t> data(size);
  TRY(read_exact(fd.get(), data, 0, path));
  return data;
}

Status write_all(int fd, std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("write");
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace vmkit
