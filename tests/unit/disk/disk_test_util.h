// Helpers for the disk tests: a temporary directory, running commands (qemu-img, vmkit), and
// reading whole images through a DiskImage.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "disk/disk_image.h"
#include "disk/disk_open.h"

namespace vmkit::test {

class TempDir {
 public:
  explicit TempDir(const std::string& base = "/tmp");
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line; never throws.
CommandResult run(const std::string& command);
// Runs and asserts success (for setup steps such as qemu-img create).
void must_run(const std::string& command);

std::string vmkit_binary();

std::vector<uint8_t> read_file(const std::string& path);
void write_file(const std::string& path, const std::vector<uint8_t>& data);
bool file_exists(const std::string& path);
std::vector<std::string> list_dir(const std::string& path);

// Opens an image (read-write unless read_only) and fails the test on error.
std::unique_ptr<DiskImage> open_image(const std::string& path, const std::string& format = "",
                                      bool read_only = false);
// The whole guest-visible content of an image.
std::vector<uint8_t> read_all(DiskImage& image);
Status write_bytes(DiskImage& image, uint64_t offset, const std::vector<uint8_t>& data);
Status read_bytes(DiskImage& image, uint64_t offset, std::vector<uint8_t>& data);

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n);

}  // namespace vmkit::test
