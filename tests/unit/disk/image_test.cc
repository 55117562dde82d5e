// Raw images (O_DIRECT, io_uring and synchronous queues), qcow2 under concurrent use, and the
// pure format helpers.
#include <gtest/gtest.h>
#include <poll.h>

#include <random>
#include <thread>

#include "disk/qcow2_format.h"
#include "disk/qcow2_image.h"
#include "disk/qcow2_refcount.h"
#include "disk/raw_image.h"
#include "disk/uring_queue.h"
#include "disk_test_util.h"

namespace vmkit::test {
namespace {

TEST(RawImage, ReadWriteDiscardZeroes) {
  TempDir dir;
  std::string path = dir.file("r.img");
  must_run("truncate -s 4M '" + path + "'");
  auto raw = RawImage::open(path, false, CacheMode::kWriteback);
  ASSERT_TRUE(raw.ok());
  DiskImage& disk = **raw;
  EXPECT_EQ(disk.virtual_size(), 4u << 20);
  std::mt19937_64 rng(1);
  auto data = random_bytes(rng, 1 << 20);
  ASSERT_TRUE(write_bytes(disk, 4096, data).ok());
  ASSERT_TRUE(disk.discard(4096, 65536).ok());
  ASSERT_TRUE(disk.write_zeroes(131072, 8192, false).ok());
  ASSERT_TRUE(disk.write_zeroes(262144, 65536, true).ok());
  ASSERT_TRUE(disk.flush().ok());
  std::fill_n(data.begin(), 65536, 0);
  std::fill_n(data.begin() + 131072 - 4096, 8192, 0);
  std::fill_n(data.begin() + 262144 - 4096, 65536, 0);
  std::vector<uint8_t> back(data.size());
  ASSERT_TRUE(read_bytes(disk, 4096, back).ok());
  EXPECT_EQ(back, data);
  EXPECT_FALSE(read_bytes(disk, (4 << 20) - 100, back).ok());  // beyond the end
  auto ro = RawImage::open(path, true, CacheMode::kWriteback);
  ASSERT_TRUE(ro.ok());
  Status s = write_bytes(**ro, 0, data);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().sys_errno(), EROFS);
}

TEST(RawImage, DirectIoWithUnalignedBuffers) {
  for (const char* base : {"/tmp", "/dev/shm"}) {
    TempDir dir(base);
    std::string path = dir.file("d.img");
    must_run("truncate -s 1M '" + path + "'");
    auto raw = RawImage::open(path, false, CacheMode::kNone);
    ASSERT_TRUE(raw.ok()) << base;
    const ImageFile& file = (*raw)->file();
    EXPECT_TRUE(file.direct() || !file.note().empty()) << base;
    std::mt19937_64 rng(2);
    auto data = random_bytes(rng, 10000);
    // Odd offset, odd length, odd buffer address: bounced when O_DIRECT is on.
    std::vector<uint8_t> holder(data.size() + 1);
    std::copy(data.begin(), data.end(), holder.begin() + 1);
    iovec v{holder.data() + 1, data.size()};
    ASSERT_TRUE((*raw)->write(777, {&v, 1}).ok()) << base;
    std::vector<uint8_t> back(data.size());
    ASSERT_TRUE(read_bytes(**raw, 777, back).ok());
    EXPECT_EQ(back, data) << base;
    auto disk = read_file(path);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), disk.begin() + 777)) << base;
  }
}

// Drives a queue: submits every request, kicks, waits on the eventfd, reaps all completions.
std::vector<IoCompletion> run_queue(DiskQueue& q, const std::vector<IoRequest>& requests) {
  for (const IoRequest& r : requests) EXPECT_TRUE(q.submit(r).ok());
  q.kick();
  std::vector<IoCompletion> done;
  while (done.size() < requests.size()) {
    pollfd p{q.event_fd(), POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 5000), 1) << "no completion within 5 s";
    if (p.revents == 0) break;
    q.reap(done);
  }
  return done;
}

void exercise_queue(DiskImage& disk, unsigned depth) {
  auto queue = disk.open_queue(depth);
  ASSERT_TRUE(queue.ok()) << queue.error().message();
  std::mt19937_64 rng(3);
  const size_t n = 200;  // more than the depth: the backlog must drain
  std::vector<std::vector<uint8_t>> bufs(n);
  std::vector<iovec> iovs(n);
  std::vector<IoRequest> writes;
  for (size_t i = 0; i < n; ++i) {
    bufs[i] = random_bytes(rng, 4096);
    iovs[i] = {bufs[i].data(), 4096};
    writes.push_back(IoRequest{IoOp::kWrite, i * 8192, 0, {&iovs[i], 1}, false, i});
  }
  writes.push_back(IoRequest{IoOp::kDiscard, n * 8192, 65536, {}, false, 1000});
  writes.push_back(IoRequest{IoOp::kWriteZeroes, 4096, 4096, {}, false, 1001});
  writes.push_back(IoRequest{IoOp::kWrite, disk.virtual_size(), 0, {&iovs[0], 1}, false, 1002});
  auto done = run_queue(**queue, writes);
  ASSERT_EQ(done.size(), writes.size());
  for (const IoCompletion& c : done) {
    if (c.cookie == 1002) {
      EXPECT_LT(c.result, 0) << "a write past the end must fail";
    } else {
      EXPECT_EQ(c.result, 0) << "cookie " << c.cookie;
    }
  }
  auto flushed = run_queue(**queue, {IoRequest{IoOp::kFlush, 0, 0, {}, false, 7}});
  ASSERT_EQ(flushed.size(), 1u);
  EXPECT_EQ(flushed[0].result, 0);
  std::vector<std::vector<uint8_t>> back(n, std::vector<uint8_t>(4096));
  std::vector<iovec> back_iov(n);
  std::vector<IoRequest> reads;
  for (size_t i = 0; i < n; ++i) {
    back_iov[i] = {back[i].data(), 4096};
    reads.push_back(IoRequest{IoOp::kRead, i * 8192, 0, {&back_iov[i], 1}, false, i});
  }
  auto read_done = run_queue(**queue, reads);
  ASSERT_EQ(read_done.size(), n);
  for (const IoCompletion& c : read_done) EXPECT_EQ(c.result, 0);
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(back[i], bufs[i]) << i;
  std::vector<uint8_t> zero(4096);
  ASSERT_TRUE(read_bytes(disk, 4096, zero).ok());
  EXPECT_TRUE(buffer_is_zero(zero.data(), zero.size()));
}

TEST(DiskQueue, RawIoUring) {
  TempDir dir;
  std::string path = dir.file("q.img");
  must_run("truncate -s 4M '" + path + "'");
  for (CacheMode mode : {CacheMode::kWriteback, CacheMode::kNone}) {
    auto raw = RawImage::open(path, false, mode);
    ASSERT_TRUE(raw.ok());
    exercise_queue(**raw, 16);
  }
}

// Creates a qcow2 image with `vmkit disk create OPTIONS PATH SIZE` and opens it read-write.
std::unique_ptr<DiskImage> create_qcow2(const std::string& path, const std::string& size,
                                        const std::string& options = "") {
  must_run(vmkit_binary() + " disk create " + options + " '" + path + "' " + size);
  return open_image(path);
}

TEST(DiskQueue, Qcow2RingAndSynchronousPaths) {
  TempDir dir;
  std::string path = dir.file("q.qcow2");
  auto disk = create_qcow2(path, "4M");
  ASSERT_TRUE(disk);
  exercise_queue(*disk, 16);
  ASSERT_TRUE(disk->flush().ok());
  must_run("qemu-img check -q '" + path + "'");
}

// The queue of a qcow2 image sends data transfers to allocated clusters to io_uring at the
// clusters' file offsets, and runs the rest (allocation, unallocated or zero clusters)
// synchronously: the bytes read back are the same either way.
TEST(DiskQueue, Qcow2TransfersToAllocatedClustersGoToTheRing) {
  TempDir dir;
  std::string path = dir.file("ring.qcow2");
  auto disk = create_qcow2(path, "1M", "--cluster-size 4K");
  ASSERT_TRUE(disk);
  auto opened = disk->open_queue(8);
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  auto* queue = dynamic_cast<UringDiskQueue*>(opened->get());
  ASSERT_NE(queue, nullptr) << "a qcow2 image's queue is an io_uring queue";

  // Allocate guest clusters in reverse order, so that file and guest offsets differ.
  std::mt19937_64 rng(11);
  std::vector<uint8_t> expect(1 << 20, 0);
  for (uint64_t c = 64; c-- > 0;) {
    auto data = random_bytes(rng, 4096);
    iovec v{data.data(), data.size()};
    auto done = run_queue(*queue, {IoRequest{IoOp::kWrite, c * 4096, 0, {&v, 1}, false, c}});
    ASSERT_EQ(done.size(), 1u);
    ASSERT_EQ(done[0].result, 0);
    std::copy(data.begin(), data.end(), expect.begin() + static_cast<long>(c * 4096));
  }
  EXPECT_EQ(queue->ring_transfers(), 0u) << "allocating writes run synchronously";

  // Overwrites in place and reads of allocated clusters: one cluster at a time (the file
  // offsets are not contiguous), at odd sector offsets, 8 in flight at once (more than the
  // ring's depth: the backlog drains).
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<iovec> iovs(64);
  std::vector<IoRequest> writes;
  bufs.reserve(64);
  for (uint64_t c = 0; c < 64; ++c) {
    bufs.push_back(random_bytes(rng, 3072));
    iovs[c] = {bufs[c].data(), bufs[c].size()};
    writes.push_back(IoRequest{IoOp::kWrite, c * 4096 + 512, 0, {&iovs[c], 1}, false, c});
    std::copy(bufs[c].begin(), bufs[c].end(), expect.begin() + static_cast<long>(c * 4096 + 512));
  }
  for (const IoCompletion& c : run_queue(*queue, writes)) EXPECT_EQ(c.result, 0);
  EXPECT_EQ(queue->ring_transfers(), 64u);

  // Reads: within a cluster (ring), across two clusters that are not contiguous in the file
  // and past the allocated part (both synchronous).
  std::vector<uint8_t> one(4096), two(8192), tail(8192);
  iovec v1{one.data(), one.size()}, v2{two.data(), two.size()}, v3{tail.data(), tail.size()};
  auto reads = run_queue(*queue, {IoRequest{IoOp::kRead, 5 * 4096, 0, {&v1, 1}, false, 1},
                                  IoRequest{IoOp::kRead, 10 * 4096, 0, {&v2, 1}, false, 2},
                                  IoRequest{IoOp::kRead, 63 * 4096, 0, {&v3, 1}, false, 3}});
  ASSERT_EQ(reads.size(), 3u);
  for (const IoCompletion& c : reads) EXPECT_EQ(c.result, 0) << c.cookie;
  EXPECT_EQ(queue->ring_transfers(), 65u);
  EXPECT_TRUE(std::equal(one.begin(), one.end(), expect.begin() + 5 * 4096));
  EXPECT_TRUE(std::equal(two.begin(), two.end(), expect.begin() + 10 * 4096));
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), expect.begin() + 63 * 4096));
  opened->reset();
  ASSERT_TRUE(disk->flush().ok());
  disk.reset();
  must_run("qemu-img check -q '" + path + "'");
  std::string raw = dir.file("ring.raw");
  must_run("qemu-img convert -O raw '" + path + "' '" + raw + "'");
  EXPECT_EQ(read_file(raw), expect);
}

// A transfer on the ring holds its clusters: a discard and flush meanwhile clear the mapping
// but the clusters are freed (and may be reused) only after the transfer was reaped.
TEST(DiskQueue, Qcow2ClustersStayAllocatedWhileOnTheRing) {
  TempDir dir;
  std::string path = dir.file("hold.qcow2");
  auto disk = create_qcow2(path, "1M");
  ASSERT_TRUE(disk);
  auto* qcow2 = dynamic_cast<Qcow2Image*>(disk.get());
  ASSERT_NE(qcow2, nullptr);
  std::vector<uint8_t> data(65536, 0xab);
  ASSERT_TRUE(write_bytes(*disk, 0, data).ok());
  ASSERT_TRUE(disk->flush().ok());
  auto queue = disk->open_queue(4);
  ASSERT_TRUE(queue.ok());
  std::vector<uint8_t> back(65536);
  iovec v{back.data(), back.size()};
  ASSERT_TRUE((*queue)->submit(IoRequest{IoOp::kRead, 0, 0, {&v, 1}, false, 9}).ok());
  (*queue)->kick();
  pollfd p{(*queue)->event_fd(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1) << "no completion within 5 s";
  // Completed by the kernel, not yet reaped: the reference is still held.
  ASSERT_TRUE(disk->discard(0, 65536).ok());
  ASSERT_TRUE(disk->flush().ok());
  auto held = qcow2->check(false);
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->corruptions, 0u);
  EXPECT_EQ(held->leaks, 1u) << "the discarded cluster is not freed while on the ring";
  std::vector<IoCompletion> done;
  ASSERT_EQ((*queue)->reap(done), 1u);
  EXPECT_EQ(done[0].result, 0);
  EXPECT_EQ(back, data);
  ASSERT_TRUE(disk->flush().ok());
  auto freed = qcow2->check(false);
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(freed->leaks, 0u) << "freed at the first flush after the transfer was reaped";
  EXPECT_EQ(freed->corruptions, 0u);
}

TEST(Qcow2Image, ConcurrentWritersOnOneImage) {
  TempDir dir;
  std::string path = dir.file("mt.qcow2");
  must_run(vmkit_binary() + " disk create --cluster-size 4K '" + path + "' 32M");
  const uint64_t size = 32 << 20;
  std::vector<uint8_t> mirror(size, 0);
  {
    auto disk = open_image(path);
    ASSERT_TRUE(disk);
    // Each thread owns interleaved 64 KiB stripes; stripes share L2 tables and refcount blocks.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937_64 rng(static_cast<uint64_t>(t));
        for (int i = 0; i < 300; ++i) {
          uint64_t stripe = (rng() % (size / 65536 / 4)) * 4 + static_cast<uint64_t>(t);
          uint64_t off = stripe * 65536 + (rng() % 64) * 512;
          uint64_t len = std::min<uint64_t>(512 * (1 + rng() % 64), (stripe + 1) * 65536 - off);
          if (rng() % 5 == 0) {
            EXPECT_TRUE(disk->write_zeroes(off, len, true).ok());
            std::fill_n(mirror.begin() + static_cast<long>(off), len, 0);
          } else {
            auto data = random_bytes(rng, len);
            EXPECT_TRUE(write_bytes(*disk, off, data).ok());
            std::copy(data.begin(), data.end(), mirror.begin() + static_cast<long>(off));
          }
          if (rng() % 50 == 0) {
            EXPECT_TRUE(disk->flush().ok());
          }
          std::vector<uint8_t> back(len);
          EXPECT_TRUE(read_bytes(*disk, off, back).ok());
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_TRUE(read_all(*disk) == mirror);
  }
  EXPECT_EQ(run("qemu-img check '" + path + "'").exit_code, 0);
  write_file(dir.file("m.raw"), mirror);
  EXPECT_EQ(run("qemu-img compare -f raw '" + dir.file("m.raw") + "' '" + path + "'").exit_code, 0);
}

TEST(Qcow2Image, DirectIo) {
  // cache=none: O_DIRECT for data and metadata alike (small unaligned header updates bounce).
  TempDir dir;
  std::string path = dir.file("d.qcow2");
  must_run(vmkit_binary() + " disk create --cluster-size 4K '" + path + "' 8M");
  std::vector<uint8_t> mirror(8 << 20, 0);
  {
    DiskOpenOptions o;
    o.cache = CacheMode::kNone;
    auto disk = open_disk_image(path, o);
    ASSERT_TRUE(disk.ok()) << disk.error().message();
    std::mt19937_64 rng(9);
    for (int i = 0; i < 300; ++i) {
      uint64_t off = rng() % (mirror.size() - 70000);
      auto data = random_bytes(rng, 1 + rng() % 65536);
      ASSERT_TRUE(write_bytes(**disk, off, data).ok());
      std::copy(data.begin(), data.end(), mirror.begin() + static_cast<long>(off));
    }
    EXPECT_TRUE(read_all(**disk) == mirror);
  }
  EXPECT_EQ(run("qemu-img check '" + path + "'").exit_code, 0);
  write_file(dir.file("m.raw"), mirror);
  EXPECT_EQ(run("qemu-img compare -f raw '" + dir.file("m.raw") + "' '" + path + "'").exit_code, 0);
}

TEST(Qcow2Format, RefcountEntriesOfEveryWidth) {
  for (uint32_t order = 0; order <= 6; ++order) {
    std::vector<uint8_t> block(4096, 0);
    uint64_t bits = 1u << order;
    uint64_t entries = 4096 * 8 / bits;
    uint64_t max = order == 6 ? UINT64_MAX : (1ull << bits) - 1;
    for (uint64_t i = 0; i < entries; ++i) {
      qcow2::Refcounts::write_entry(block.data(), i, order, (i * 7) & max);
    }
    for (uint64_t i = 0; i < entries; ++i) {
      ASSERT_EQ(qcow2::Refcounts::read_entry(block.data(), i, order), (i * 7) & max) << order;
    }
    // Sub-byte widths: bit 0 is the least significant bit of the byte.
    if (order == 0) {
      std::vector<uint8_t> b(1, 0);
      qcow2::Refcounts::write_entry(b.data(), 3, 0, 1);
      EXPECT_EQ(b[0], 0x08);
    }
  }
}

TEST(Qcow2Format, HeaderRoundTrip) {
  qcow2::Header h;
  h.cluster_bits = 12;
  h.size = 1 << 30;
  h.l1_size = static_cast<uint32_t>(qcow2::l1_entries_for(h.size, 12));
  h.l1_table_offset = 3 * 4096;
  h.refcount_table_offset = 4096;
  h.refcount_table_clusters = 1;
  h.refcount_order = 2;
  h.backing_file = "../base image.qcow2";
  h.backing_format = "qcow2";
  h.compression_type = qcow2::CompressionType::kZstd;
  h.incompatible_features = qcow2::kIncompatCompression;
  auto bytes = qcow2::serialize_header(h);
  ASSERT_TRUE(bytes.ok());
  auto back = qcow2::parse_header(*bytes, 1 << 20);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->size, h.size);
  EXPECT_EQ(back->backing_file, h.backing_file);
  EXPECT_EQ(back->backing_format, "qcow2");
  EXPECT_EQ(back->refcount_bits(), 4u);
  EXPECT_EQ(back->compression_type, qcow2::CompressionType::kZstd);
  EXPECT_TRUE(qcow2::check_supported(*back, true).ok());
}

TEST(Qcow2Format, DecodeL2Entries) {
  using qcow2::ClusterKind;
  EXPECT_EQ(qcow2::decode_l2_entry(0, 16, 3).kind, ClusterKind::kUnallocated);
  EXPECT_EQ(qcow2::decode_l2_entry(1, 16, 3).kind, ClusterKind::kZero);
  auto prealloc = qcow2::decode_l2_entry((1ull << 63) | 0x50000 | 1, 16, 3);
  EXPECT_EQ(prealloc.kind, ClusterKind::kZero);
  EXPECT_TRUE(prealloc.preallocated_zero);
  auto normal = qcow2::decode_l2_entry((1ull << 63) | 0x50000, 16, 3);
  EXPECT_EQ(normal.kind, ClusterKind::kNormal);
  EXPECT_EQ(normal.host_offset, 0x50000u);
  EXPECT_TRUE(normal.copied);
  // Compressed, 64 KiB clusters: x = 54; offset 0x12345, 3 additional sectors.
  auto c = qcow2::decode_l2_entry((1ull << 62) | (3ull << 54) | 0x12345, 16, 3);
  EXPECT_EQ(c.kind, ClusterKind::kCompressed);
  EXPECT_EQ(c.host_offset, 0x12345u);
  EXPECT_EQ(c.compressed_size, 4 * 512 - (0x12345u & 511));
}

}  // namespace
}  // namespace vmkit::test
