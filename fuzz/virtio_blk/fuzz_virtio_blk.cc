// virtio-blk against hostile input. Byte 0 selects the target:
//   0:     the --disk option parser, on the rest of the input as text;
//   other: the request path: a fuzzed guest memory image (layout.h) whose requests the real
//          BlockQueue pops, parses (BlockRequest::parse) and executes on a memory-backed disk,
//          driven by hand without its thread. Byte 1 bit 6: read-only disk; bit 7: discard and
//          write-zeroes negotiated.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../virtqueue/layout.h"
#include "devices/virtio/blk/block_options.h"
#include "devices/virtio/blk/block_queue.h"
#include "fake_interrupt.h"
#include "memory_disk.h"

using namespace vmkit;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  if (data[0] == 0) {
    auto options =
        parse_block_options(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
    if (options.ok() && options->path.empty()) __builtin_trap();
    return 0;
  }
  if (size < fuzz::kHeaderBytes) return 0;
  static testing::FakeInterrupt interrupt;
  static EventFd notify = EventFd::create().value();
  GuestMemory& mem = fuzz::fuzz_memory();
  fuzz::load_memory(mem, data + fuzz::kHeaderBytes, size - fuzz::kHeaderBytes);
  uint16_t qsize = fuzz::queue_size(data[0], data[1] & 0x3f);
  auto queue = VirtQueue::create(mem, fuzz::ring_layout(qsize), 256, fuzz::ring_features(data[0]));
  if (!queue.ok()) return 0;

  bool read_only = (data[1] & 0x40) != 0;
  testing::MemoryDisk disk(64 * 1024, read_only);
  BlockQueueContext context;
  context.memory = &mem;
  context.interrupt = &interrupt;
  context.limits.capacity_sectors = disk.virtual_size() / 512;
  context.limits.read_only = read_only;
  context.limits.discard = context.limits.write_zeroes = (data[1] & 0x80) != 0;
  context.limits.max_discard_sectors = context.limits.max_write_zeroes_sectors = 64;
  context.limits.max_segments = 1;
  std::memcpy(context.id.data(), "fuzz-serial", 11);

  auto blk = BlockQueue::create(ActiveQueue{0, std::move(queue).value(), &notify}, context, disk);
  if (!blk.ok()) __builtin_trap();
  (*blk)->process_notify();
  (*blk)->process_completions();  // the memory disk completes at once
  if ((*blk)->in_flight() != 0) __builtin_trap();
  (*blk)->stop();
  return 0;
}
