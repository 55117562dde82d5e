// Requests per second through the virtio-blk data path on fake guest memory: a driver-side
// fake publishes chains into a real split ring, the device pops them, BlockRequest::parse
// validates them, the backend executes them, and completions write the status byte and the
// used ring (with EVENT_IDX interrupt checks). Variants:
//   BM_QueuePopUsed    the virtqueue alone (pop + add_used of a 3-descriptor chain);
//   BM_Parse           BlockRequest::parse alone;
//   BM_BlkInline/...   the whole path driven inline on one thread (no wakeups), memory disk;
//   BM_BlkThreaded/... the real device with its I/O thread: eventfd kick, epoll, completion;
//   BM_BlkRawFile/...  (with vmkit_disk) inline, on a raw file in /dev/shm through io_uring.
// Arguments: 0 = 4 KiB reads, 1 = 4 KiB writes; batch = requests in flight per round.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <thread>

#include "devices/virtio/blk/block_device.h"
#include "devices/virtio/blk/block_queue.h"
#include "devices/virtio/blk/block_spec.h"
#include "fake_driver.h"
#include "fake_interrupt.h"
#include "memory_disk.h"
#include "virtio/virtio_spec.h"

#ifdef VMKIT_BENCH_RAW_FILE
#include <fcntl.h>
#include <unistd.h>

#include "disk/disk_open.h"
#endif

namespace vmkit {
namespace {

constexpr uint16_t kQueueSize = 256;
constexpr uint16_t kBatch = 32;  // iodepth
constexpr uint64_t kDiskBytes = 256ull << 20;
constexpr uint64_t kRingFeatures =
    virtio::kFeatureVersion1 | virtio::kFeatureEventIdx | virtio::kFeatureIndirectDesc;
constexpr uint64_t kFeatures = kRingFeatures | blk::kFeatureFlush;

std::vector<uint8_t> header(uint32_t type, uint64_t sector) {
  blk::RequestHeader h{type, 0, sector};
  std::vector<uint8_t> out(sizeof(h));
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

// Guest memory and a ring holding kBatch prebuilt 4 KiB requests at random offsets, as a
// driver that reuses its descriptors would have them.
struct Guest {
  explicit Guest(bool write)
      : mem(GuestMemory::create({{GuestAddress(0), 64ull << 20}}).value()),
        driver(mem, kQueueSize, GuestAddress(0x10000), GuestAddress(0x100000), 32ull << 20) {
    std::mt19937_64 rng(42);
    std::vector<uint8_t> payload(4096, 0x5a);
    for (uint16_t i = 0; i < kBatch; ++i) {
      uint64_t sector = (rng() % (kDiskBytes / 4096)) * 8;
      auto b = driver.chain();
      if (write) {
        b.readable(header(blk::kTypeOut, sector)).readable(payload).writable(1);
      } else {
        b.readable(header(blk::kTypeIn, sector)).writable(4096).writable(1);
      }
      heads.push_back(b.build());
    }
  }
  void publish_all() {
    for (uint16_t h : heads) driver.stage(h);
    driver.publish_staged();
  }
  size_t reap() {
    size_t n = 0;
    while (driver.pop_used()) ++n;
    return n;
  }
  VirtQueue queue() {
    return VirtQueue::create(mem, driver.layout(), kQueueSize, kFeatures).value();
  }

  GuestMemory mem;
  testing::FakeQueueDriver driver;
  std::vector<uint16_t> heads;
};

void BM_QueuePopUsed(benchmark::State& state) {
  Guest g(false);
  VirtQueue q = g.queue();
  DescriptorChain chain;
  for (auto _ : state) {
    g.publish_all();
    while (q.pop(chain).value()) (void)q.add_used(chain.head(), 4097);
    benchmark::DoNotOptimize(q.needs_interrupt());
    g.reap();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kBatch);
}
BENCHMARK(BM_QueuePopUsed);

void BM_Parse(benchmark::State& state) {
  Guest g(state.range(0) == 1);
  VirtQueue q = g.queue();
  DescriptorChain chain;
  g.publish_all();
  (void)q.pop(chain);
  BlockLimits limits;
  limits.capacity_sectors = kDiskBytes / 512;
  BlockRequest request;
  for (auto _ : state) {
    benchmark::DoNotOptimize(BlockRequest::parse_into(chain, g.mem, limits, request).ok());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Parse)->Arg(0)->Arg(1);

BlockQueueContext context_for(Guest& g, VirtioInterrupt& irq) {
  BlockQueueContext ctx;
  ctx.memory = &g.mem;
  ctx.interrupt = &irq;
  ctx.limits.capacity_sectors = kDiskBytes / 512;
  return ctx;
}

// The device path inline: notify -> pop/parse/submit -> complete -> used ring.
void run_inline(benchmark::State& state, DiskImage& disk) {
  Guest g(state.range(0) == 1);
  testing::FakeInterrupt irq;
  EventFd kick = EventFd::create().value();
  auto bq = BlockQueue::create(ActiveQueue{0, g.queue(), &kick}, context_for(g, irq), disk).value();
  for (auto _ : state) {
    g.publish_all();
    bq->process_notify();
    size_t done = 0;
    while (done < kBatch) {
      bq->process_completions();
      done += g.reap();
    }
  }
  bq->stop();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kBatch);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kBatch * 4096);
}

void BM_BlkInline(benchmark::State& state) {
  testing::MemoryDisk disk(kDiskBytes);
  run_inline(state, disk);
}
BENCHMARK(BM_BlkInline)->Arg(0)->Arg(1)->ArgName("write");

// The real device: its I/O thread wakes on the kick eventfd, completions on the disk's.
void BM_BlkThreaded(benchmark::State& state) {
  Guest g(state.range(0) == 1);
  auto disk = std::make_shared<testing::MemoryDisk>(kDiskBytes);
  auto dev = BlockDevice::create({disk, false, "bench", 1, kQueueSize}).value();
  testing::FakeInterrupt irq;
  EventFd kick = EventFd::create().value();
  VirtioActivation a;
  a.memory = &g.mem;
  a.interrupt = &irq;
  a.features = kFeatures;
  a.queues.push_back(ActiveQueue{0, g.queue(), &kick});
  if (!dev->activate(std::move(a)).ok()) state.SkipWithError("activate failed");
  for (auto _ : state) {
    g.publish_all();
    (void)kick.signal();
    size_t done = 0;
    while (done < kBatch) done += g.reap();  // the guest polling its used ring
  }
  dev->reset();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kBatch);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kBatch * 4096);
}
BENCHMARK(BM_BlkThreaded)->Arg(0)->Arg(1)->ArgName("write")->UseRealTime();

#ifdef VMKIT_BENCH_RAW_FILE
void BM_BlkRawFile(benchmark::State& state) {
  std::string path = "/dev/shm/vmkit-bench-" + std::to_string(::getpid()) + ".raw";
  {
    UniqueFd fd(::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd || ::ftruncate(fd.get(), static_cast<off_t>(kDiskBytes)) != 0) {
      state.SkipWithError("cannot create the raw file in /dev/shm");
      return;
    }
  }
  auto image = open_disk_image(path, DiskOpenOptions{"raw", false, CacheMode::kWriteback, true});
  ::unlink(path.c_str());
  if (!image.ok()) {
    state.SkipWithError(image.error().message().c_str());
    return;
  }
  run_inline(state, **image);
}
BENCHMARK(BM_BlkRawFile)->Arg(0)->Arg(1)->ArgName("write");
#endif

}  // namespace
}  // namespace vmkit

BENCHMARK_MAIN();
