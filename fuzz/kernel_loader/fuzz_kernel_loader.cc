// The kernel loader against hostile kernel files (`vmkit run --kernel`): the input is the whole
// file. parse_setup_header must accept or reject it without reading past the end, and
// load_kernel (bzImage or PVH ELF) must keep every copy inside a 16 MiB guest RAM, whatever the
// header, program headers and notes claim.
#include <cstddef>
#include <cstdint>
#include <span>

#include "arch/x86_64/kernel_loader.h"

using namespace vmkit;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr uint64_t kRam = 16 << 20;
  static GuestMemory mem = GuestMemory::create({{GuestAddress(0), kRam}}).value();
  x86::SpanKernelImage image(std::span<const uint8_t>(data, size));
  (void)x86::parse_setup_header(image);
  auto kernel = x86::load_kernel(mem, image, kRam);
  if (kernel.ok() && (kernel->end > kRam || kernel->entry >= kRam)) __builtin_trap();
  return 0;
}
