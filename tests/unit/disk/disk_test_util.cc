#include "disk_test_util.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace vmkit::test {

TempDir::TempDir(const std::string& base) {
  std::string tmpl = base + "/vmkit-disk-test-XXXXXX";
  char* p = ::mkdtemp(tmpl.data());
  if (!p) std::abort();
  path_ = p;
}

TempDir::~TempDir() {
  (void)run("rm -rf '" + path_ + "'");
}

CommandResult run(const std::string& command) {
  CommandResult r;
  std::string full = "(" + command + ") 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void must_run(const std::string& command) {
  CommandResult r = run(command);
  ASSERT_EQ(r.exit_code, 0) << command << "\n" << r.output;
}

std::string vmkit_binary() {
  return VMKIT_BINARY;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::vector<uint8_t>& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()),  // SAFETY: bytes as chars
            static_cast<std::streamsize>(data.size()));
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = ::opendir(path.c_str());
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  return names;
}

std::unique_ptr<DiskImage> open_image(const std::string& path, const std::string& format,
                                      bool read_only) {
  DiskOpenOptions options;
  options.format = format;
  options.read_only = read_only;
  auto image = open_disk_image(path, options);
  EXPECT_TRUE(image.ok()) << (image.ok() ? "" : image.error().message());
  if (!image.ok()) return nullptr;
  return std::move(image).value();
}

std::vector<uint8_t> read_all(DiskImage& image) {
  std::vector<uint8_t> data(image.virtual_size());
  Status s = read_bytes(image, 0, data);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message());
  return data;
}

Status write_bytes(DiskImage& image, uint64_t offset, const std::vector<uint8_t>& data) {
  iovec v{const_cast<uint8_t*>(data.data()), data.size()};
  return image.write(offset, {&v, 1});
}

Status read_bytes(DiskImage& image, uint64_t offset, std::vector<uint8_t>& data) {
  iovec v{data.data(), data.size()};
  return image.read(offset, {&v, 1});
}

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  return out;
}

}  // namespace vmkit::test
