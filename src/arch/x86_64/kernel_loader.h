// Loads a guest kernel into guest memory: a bzImage through the Linux boot protocol's 64-bit
// entry, or an uncompressed ELF vmlinux through its PVH entry note.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "arch/x86_64/boot_params.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "memory/guest_memory.h"

namespace vmkit::x86 {

enum class BootProtocol {
  kLinux64,  // 64-bit entry at load + 0x200, rsi = zero page
  kPvh,      // 32-bit protected mode at the PVH entry, ebx = hvm_start_info
};

struct LoadedKernel {
  BootProtocol protocol = BootProtocol::kLinux64;
  uint64_t entry = 0;
  uint64_t load_address = 0;
  uint64_t end = 0;                   // first byte after the kernel's reserved area
  std::optional<SetupHeader> header;  // bzImage only
};

// Where the kernel's bytes come from. The loader reads the headers it needs and copies the
// payload or segments straight into guest memory, so a 14 MB bzImage never sits in a host buffer.
class KernelImage {
 public:
  virtual ~KernelImage() = default;
  virtual uint64_t size() const = 0;
  // Reads exactly out.size() bytes at `offset`; callers keep the range inside size().
  virtual Status read(uint64_t offset, std::span<uint8_t> out) const = 0;
};

// A kernel file on the host, read with pread as the loader asks (`vmkit run --kernel`).
class FileKernelImage final : public KernelImage {
 public:
  static Result<FileKernelImage> open(const std::string& path);
  uint64_t size() const override { return size_; }
  Status read(uint64_t offset, std::span<uint8_t> out) const override;

 private:
  FileKernelImage(UniqueFd fd, uint64_t size, std::string path)
      : fd_(std::move(fd)), size_(size), path_(std::move(path)) {}
  UniqueFd fd_;
  uint64_t size_;
  std::string path_;
};

// A kernel already in host memory (unit tests, the fuzzer).
class SpanKernelImage final : public KernelImage {
 public:
  explicit SpanKernelImage(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  Status read(uint64_t offset, std::span<uint8_t> out) const override;

 private:
  std::span<const uint8_t> bytes_;
};

// Validates a bzImage's setup header (boot flag, "HdrS", protocol >= 2.12 with 64-bit entry,
// loaded-high, sizes consistent with the file) without touching guest memory.
Result<SetupHeader> parse_setup_header(const KernelImage& image);

// Picks the load address and copies the kernel. `ram_end` bounds RAM below the PCI hole.
Result<LoadedKernel> load_kernel(const GuestMemory& mem, const KernelImage& image,
                                 uint64_t ram_end);

}  // namespace vmkit::x86
