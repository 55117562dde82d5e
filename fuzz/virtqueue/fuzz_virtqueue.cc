// Drives a split virtqueue over a guest memory image taken from the input: every ring field,
// descriptor and index is fuzzed. The queue must never crash, hang or touch memory outside
// guest RAM; the chains it accepts must be fully inside RAM. Inputs whose first byte has bits
// 6 and 7 set drive the virtio-pci transport's registers instead (fuzz_transport.h).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_transport.h"
#include "layout.h"
#include "virtio/descriptor_chain.h"

using namespace vmkit;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size >= 1 && (data[0] & 0xc0) == 0xc0) {
    fuzz::run_transport(data + 1, size - 1);
    return 0;
  }
  if (size < fuzz::kHeaderBytes) return 0;
  GuestMemory& mem = fuzz::fuzz_memory();
  fuzz::load_memory(mem, data + fuzz::kHeaderBytes, size - fuzz::kHeaderBytes);
  uint16_t qsize = fuzz::queue_size(data[0], data[1]);
  auto queue = VirtQueue::create(mem, fuzz::ring_layout(qsize), 256, fuzz::ring_features(data[0]));
  if (!queue.ok()) return 0;

  DescriptorChain chain;
  std::vector<uint8_t> scratch(4096);
  std::vector<iovec> iov;
  for (int round = 0; round < 2 * 256 + 2; ++round) {
    auto popped = queue->pop(chain);
    if (!popped.ok()) break;
    if (!*popped) {
      auto more = queue->enable_notification();
      if (!more.ok() || !*more) break;
      continue;
    }
    // Everything the queue accepted must be usable.
    uint64_t readable = chain.readable_bytes();
    uint64_t n = readable < scratch.size() ? readable : scratch.size();
    if (!read_buffers(mem, chain.readable(), 0, std::span(scratch.data(), n)).ok())
      __builtin_trap();
    uint64_t writable = chain.writable_bytes();
    uint64_t w = writable < scratch.size() ? writable : scratch.size();
    if (!write_buffers(mem, chain.writable(), 0, std::span(scratch.data(), w)).ok()) {
      __builtin_trap();
    }
    iov.clear();
    if (!buffer_iovecs(mem, chain.descriptors(), 0, readable + writable, iov).ok()) {
      __builtin_trap();
    }
    if (!queue->add_used(chain.head(), static_cast<uint32_t>(w)).ok()) __builtin_trap();
    (void)queue->needs_interrupt();
  }
  return 0;
}
