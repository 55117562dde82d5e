// Micro-benchmark of the disk backends: 4 KiB random reads and writes (queue depth 1, one
// thread) and 1 MiB sequential transfers through RawImage, a fresh qcow2 image (writes
// allocate) and a preallocated qcow2 image, on a tmpfs file by default, next to the host's own
// pread/pwrite on the same kind of file (the limit).
//
//   disk_bench [DIR (default /dev/shm)] [SIZE_MIB (512)] [SECONDS per figure (1)] [ROUNDS (5)]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "base/log.h"
#include "disk/disk_open.h"
#include "disk/iov_util.h"

using namespace vmkit;
using Clock = std::chrono::steady_clock;

namespace {

struct Figures {
  double rand_read_iops = 0, rand_write_iops = 0, seq_read_mbs = 0, seq_write_mbs = 0;
};

// Runs op(i) until `seconds` pass; returns operations per second.
double timed(double seconds, const std::function<bool(uint64_t)>& op) {
  auto start = Clock::now();
  uint64_t n = 0;
  double elapsed = 0;
  while (true) {
    for (int k = 0; k < 64; ++k, ++n) {
      if (!op(n)) {
        std::fprintf(stderr, "I/O error\n");
        std::exit(1);
      }
    }
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (elapsed >= seconds) break;
  }
  return static_cast<double>(n) / elapsed;
}

Figures measure(uint64_t size, double seconds,
                const std::function<bool(uint64_t, void*, size_t)>& read,
                const std::function<bool(uint64_t, const void*, size_t)>& write) {
  Figures f;
  AlignedBuffer small(4096), big(1 << 20);
  std::memset(small.data(), 0xab, small.size());
  std::memset(big.data(), 0xcd, big.size());
  std::mt19937_64 rng(1);
  const uint64_t blocks = size / 4096;
  f.rand_write_iops =
      timed(seconds, [&](uint64_t) { return write((rng() % blocks) * 4096, small.data(), 4096); });
  f.rand_read_iops =
      timed(seconds, [&](uint64_t) { return read((rng() % blocks) * 4096, small.data(), 4096); });
  const uint64_t mibs = size >> 20;
  f.seq_write_mbs =
      timed(seconds, [&](uint64_t i) { return write((i % mibs) << 20, big.data(), big.size()); });
  f.seq_read_mbs =
      timed(seconds, [&](uint64_t i) { return read((i % mibs) << 20, big.data(), big.size()); });
  return f;
}

Figures measure_image(DiskImage& disk, double seconds) {
  return measure(
      disk.virtual_size(), seconds,
      [&](uint64_t off, void* buf, size_t len) {
        iovec v{buf, len};
        return disk.read(off, {&v, 1}).ok();
      },
      [&](uint64_t off, const void* buf, size_t len) {
        iovec v{const_cast<void*>(buf), len};
        return disk.write(off, {&v, 1}).ok();
      });
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median of each figure over the rounds.
Figures median(const std::vector<Figures>& runs) {
  std::vector<double> a, b, c, d;
  for (const Figures& f : runs) {
    a.push_back(f.rand_read_iops);
    b.push_back(f.rand_write_iops);
    c.push_back(f.seq_read_mbs);
    d.push_back(f.seq_write_mbs);
  }
  return {median(a), median(b), median(c), median(d)};
}

void print(const char* name, const Figures& f, const Figures& host, const Figures& raw) {
  std::printf("%-20s %10.0f %6.1f%% %6.1f%% %10.0f %6.1f%% %6.1f%% %9.0f %9.0f\n", name,
              f.rand_read_iops, 100 * f.rand_read_iops / host.rand_read_iops,
              100 * f.rand_read_iops / raw.rand_read_iops, f.rand_write_iops,
              100 * f.rand_write_iops / host.rand_write_iops,
              100 * f.rand_write_iops / raw.rand_write_iops, f.seq_read_mbs, f.seq_write_mbs);
}

std::unique_ptr<DiskImage> open_or_die(const std::string& path, const std::string& format) {
  DiskOpenOptions o;
  o.format = format;
  auto image = open_disk_image(path, o);
  if (!image.ok()) {
    std::fprintf(stderr, "%s\n", image.error().message().c_str());
    std::exit(1);
  }
  return std::move(image).value();
}

}  // namespace

int main(int argc, char** argv) {
  log::set_level(log::Level::kError);
  std::string dir = argc > 1 ? argv[1] : "/dev/shm";
  uint64_t size = (argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 512) << 20;
  double seconds = argc > 3 ? std::strtod(argv[3], nullptr) : 1.0;
  std::string base = dir + "/vmkit-disk-bench-" + std::to_string(getpid());
  std::string raw = base + ".raw", fresh = base + "-fresh.qcow2", pre = base + "-pre.qcow2";

  CreateOptions o;
  o.format = "raw";
  o.size = size;
  o.preallocation = Preallocation::kFull;
  if (!create_disk_image(raw, o).ok()) return 1;

  int rounds = argc > 4 ? std::atoi(argv[4]) : 5;
  o.format = "qcow2";
  o.preallocation = Preallocation::kFull;
  if (!create_disk_image(pre, o).ok()) return 1;
  std::printf(
      "%s, %llu MiB, %d interleaved rounds of %.1f s per figure (medians), 1 thread, "
      "depth 1\n",
      dir.c_str(), static_cast<unsigned long long>(size >> 20), rounds, seconds);
  std::vector<Figures> host_runs, raw_runs, fresh_runs, pre_runs;
  for (int r = 0; r < rounds; ++r) {
    int fd = ::open(raw.c_str(), O_RDWR);
    host_runs.push_back(measure(
        size, seconds,
        [&](uint64_t off, void* buf, size_t len) {
          return ::pread(fd, buf, len, static_cast<off_t>(off)) == static_cast<ssize_t>(len);
        },
        [&](uint64_t off, const void* buf, size_t len) {
          return ::pwrite(fd, buf, len, static_cast<off_t>(off)) == static_cast<ssize_t>(len);
        }));
    ::close(fd);
    raw_runs.push_back(measure_image(*open_or_die(raw, "raw"), seconds));
    o.preallocation = Preallocation::kOff;
    o.force = true;
    if (!create_disk_image(fresh, o).ok()) return 1;  // fresh again every round
    fresh_runs.push_back(measure_image(*open_or_die(fresh, "qcow2"), seconds));
    pre_runs.push_back(measure_image(*open_or_die(pre, "qcow2"), seconds));
  }
  Figures host = median(host_runs), rawf = median(raw_runs);
  std::printf("%-20s %10s %7s %7s %10s %7s %7s %9s %9s\n", "backend", "4k rand rd", "vs host",
              "vs raw", "4k rand wr", "vs host", "vs raw", "1M rd MB/s", "1M wr MB/s");
  print("host pread/pwrite", host, host, rawf);
  print("raw", rawf, host, rawf);
  print("qcow2 fresh", median(fresh_runs), host, rawf);
  print("qcow2 preallocated", median(pre_runs), host, rawf);
  ::unlink(raw.c_str());
  ::unlink(fresh.c_str());
  ::unlink(pre.c_str());
  return 0;
}
