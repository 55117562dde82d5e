// Crash safety: a child process does heavy random writes (and write-zeroes) to a qcow2 image
// through Qcow2Image, flushing now and then and recording in shared memory which operations a
// completed flush covered; the parent kills it with SIGKILL at varying points. Afterwards
// `qemu-img check` must find no corruption (leaks are fine) and every sector must hold what
// the last flushed operation on it wrote, or what a later (unflushed) operation wrote.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <iostream>
#include <random>

#include "disk_test_util.h"

namespace vmkit::test {
namespace {

constexpr uint64_t kSector = 512;
constexpr size_t kMaxOps = 1 << 16;

struct Op {
  uint64_t offset;
  uint64_t length;
  uint32_t zero;  // write-zeroes instead of data
};

struct SharedLog {
  std::atomic<uint64_t> recorded;  // ops [0, recorded) may have reached the image
  std::atomic<uint64_t> flushed;   // ops [0, flushed) completed before a completed flush
  Op ops[kMaxOps];
};

// Sector content written by op `seq` at sector `lba`: a header naming both, then filler.
void fill_sector(uint8_t* p, uint64_t seq, uint64_t lba) {
  uint64_t x = seq * 0x9e3779b97f4a7c15ull ^ lba;
  std::memcpy(p, &seq, 8);
  std::memcpy(p + 8, &lba, 8);
  for (size_t i = 16; i < kSector; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(p + i, &x, 8);
  }
}

[[noreturn]] void child_main(const std::string& path, SharedLog* log, uint64_t size,
                             uint64_t seed) {
  auto image = open_image(path);
  if (!image) _exit(10);
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> buf;
  for (uint64_t seq = 0; seq < kMaxOps; ++seq) {
    uint64_t sectors = size / kSector;
    uint64_t len = kSector * (1 + rng() % 128);
    uint64_t off = (rng() % (sectors - len / kSector)) * kSector;
    bool zero = rng() % 8 == 0;
    log->ops[seq] = Op{off, len, zero};
    log->recorded.store(seq + 1);
    Status s;
    if (zero) {
      s = image->write_zeroes(off, len, rng() % 2 == 0);
    } else {
      buf.resize(len);
      for (uint64_t i = 0; i < len / kSector; ++i) {
        fill_sector(buf.data() + i * kSector, seq, off / kSector + i);
      }
      s = write_bytes(*image, off, buf);
    }
    if (!s.ok()) _exit(11);
    if (rng() % 16 == 0) {
      if (!image->flush().ok()) _exit(12);
      log->flushed.store(seq + 1);
    }
  }
  _exit(0);
}

void crash_and_verify(const std::string& create_options, int kill_after_ms, uint64_t seed) {
  TempDir dir;
  const uint64_t size = 32 << 20;
  std::string img = dir.file("crash.qcow2");
  must_run(vmkit_binary() + " disk create " + create_options + " '" + img + "' 32M");
  void* mem =
      mmap(nullptr, sizeof(SharedLog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* log = new (mem) SharedLog();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) child_main(img, log, size, seed);
  // Kill points are counted from the first completed flush (startup time varies, e.g. under ASan).
  for (int i = 0; i < 5000 && log->flushed.load() == 0; ++i) usleep(1000);
  usleep(static_cast<useconds_t>(kill_after_ms) * 1000);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status))
      << "the writer ended before the kill (exit " << WEXITSTATUS(status) << ")";
  uint64_t recorded = log->recorded.load();
  uint64_t flushed = log->flushed.load();
  ASSERT_GT(flushed, 0u) << "no flush completed before the kill";

  CommandResult check = run("qemu-img check '" + img + "'");
  EXPECT_TRUE(check.exit_code == 0 || check.exit_code == 3) << "qemu-img check found corruption:\n"
                                                            << check.output;

  // Which ops touched each sector, in order.
  std::vector<std::vector<uint32_t>> by_sector(size / kSector);
  for (uint64_t i = 0; i < recorded; ++i) {
    const Op& op = log->ops[i];
    for (uint64_t s = op.offset / kSector; s < (op.offset + op.length) / kSector; ++s) {
      by_sector[s].push_back(static_cast<uint32_t>(i));
    }
  }
  auto image = open_image(img, "qcow2", true);
  ASSERT_TRUE(image);
  std::vector<uint8_t> content = read_all(*image);
  uint8_t expect[kSector];
  uint64_t bad = 0;
  for (uint64_t s = 0; s < by_sector.size(); ++s) {
    const uint8_t* got = content.data() + s * kSector;
    const auto& ops = by_sector[s];
    // The last flushed op on this sector, if any: only it or later ones are acceptable.
    size_t first_ok = 0;
    bool have_flushed = false;
    for (size_t k = 0; k < ops.size(); ++k) {
      if (ops[k] < flushed) {
        first_ok = k;
        have_flushed = true;
      }
    }
    bool ok = false;
    if (!have_flushed) ok = buffer_is_zero(got, kSector);
    for (size_t k = first_ok; k < ops.size() && !ok; ++k) {
      if (log->ops[ops[k]].zero) {
        ok = buffer_is_zero(got, kSector);
      } else {
        fill_sector(expect, ops[k], s);
        ok = std::memcmp(got, expect, kSector) == 0;
      }
    }
    if (!ok && bad++ < 5)
      ADD_FAILURE() << "sector " << s << " holds neither its last flushed "
                    << "write nor a later one";
  }
  std::cout << "recorded " << recorded << " ops, flushed " << flushed << "\n";
  EXPECT_EQ(bad, 0u) << "recorded " << recorded << " ops, flushed " << flushed;
  munmap(mem, sizeof(SharedLog));
}

TEST(Qcow2Crash, KillDuringRandomWrites64k) {
  int delays[] = {40, 120, 250, 400};
  for (int i = 0; i < 4; ++i) crash_and_verify("", delays[i], 100 + static_cast<uint64_t>(i));
}

TEST(Qcow2Crash, KillDuringRandomWrites4kClustersSmallCaches) {
  // 4 KiB clusters: many L2 tables and refcount blocks, so evictions and growth happen mid-run.
  int delays[] = {60, 200, 350};
  for (int i = 0; i < 3; ++i) {
    crash_and_verify("--cluster-size 4K --refcount-bits 4", delays[i],
                     200 + static_cast<uint64_t>(i));
  }
}

TEST(Qcow2Crash, KillDuringRandomWritesV2) {
  int delays[] = {80, 300};
  for (int i = 0; i < 2; ++i)
    crash_and_verify("--compat 0.10", delays[i], 300 + static_cast<uint64_t>(i));
}

}  // namespace
}  // namespace vmkit::test
