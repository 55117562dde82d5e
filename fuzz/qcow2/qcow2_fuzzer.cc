// Fuzzes qcow2 images: the input is the image file (in a memfd). It is parsed, opened
// read-write, read and written in a few places, discarded, zeroed, flushed, read and written
// through its io_uring queue (the ring path maps guest offsets to file offsets) and checked.
// Any crash, sanitizer report or leak is a bug; errors are expected.
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "base/log.h"
#include "disk/image_file.h"
#include "disk/qcow2_format.h"
#include "disk/qcow2_image.h"

using namespace vmkit;

namespace {

// The same places through a queue: four reads and four writes, all in flight at once.
void exercise_queue(DiskImage& disk, const uint64_t (&seeds)[4]) {
  uint64_t vsize = disk.virtual_size();
  if (vsize == 0) return;
  auto queue = disk.open_queue(4);
  if (!queue.ok()) return;
  std::vector<std::vector<uint8_t>> bufs(8, std::vector<uint8_t>(20000));
  std::vector<iovec> iovs(8);
  std::vector<IoRequest> requests;
  for (size_t i = 0; i < 8; ++i) {
    uint64_t off = (seeds[i % 4] % vsize) & ~uint64_t{511};
    uint64_t len = std::min<uint64_t>(bufs[i].size() - 512 * (i % 3), vsize - off);
    iovs[i] = {bufs[i].data(), static_cast<size_t>(len)};
    IoOp op = (i < 4 || disk.read_only()) ? IoOp::kRead : IoOp::kWrite;
    requests.push_back(IoRequest{op, off, 0, {&iovs[i], 1}, false, i});
  }
  size_t queued = 0;  // a refused submit has no completion
  for (const IoRequest& r : requests) queued += (*queue)->submit(r).ok() ? 1 : 0;
  (*queue)->kick();
  std::vector<IoCompletion> done;
  while (done.size() < queued) {
    pollfd p{(*queue)->event_fd(), POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) __builtin_trap();  // a lost completion is a bug
    (*queue)->reap(done);
  }
}

void exercise(DiskImage& disk, const uint8_t* data, size_t size) {
  uint64_t vsize = disk.virtual_size();
  if (vsize == 0) return;
  // Offsets taken from the input's tail, so the fuzzer can aim at interesting places.
  uint64_t seeds[4] = {0, vsize / 2, vsize - std::min<uint64_t>(vsize, 4096), 12345};
  if (size >= 32) std::memcpy(seeds, data + size - 32, 32);
  exercise_queue(disk, seeds);
  std::vector<uint8_t> buf(70000, 0x5a);
  for (uint64_t seed : seeds) {
    uint64_t off = (seed % vsize) & ~uint64_t{511};
    uint64_t len = std::min<uint64_t>(buf.size(), vsize - off);
    iovec v{buf.data(), static_cast<size_t>(len)};
    (void)disk.read(off, {&v, 1});
    if (disk.read_only()) continue;
    (void)disk.write(off, {&v, 1});
    switch (seed % 4) {
      case 0:
        (void)disk.discard(off, len);
        break;
      case 1:
        (void)disk.write_zeroes(off, len, true);
        break;
      case 2:
        (void)disk.write_zeroes(off, len, false);
        break;
      default:
        (void)disk.flush();
        break;
    }
    (void)disk.read(off, {&v, 1});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = [] {
    log::set_level(log::Level::kError);
    return true;
  }();
  (void)quiet;
  auto header = qcow2::parse_header({data, size}, size);
  if (!header.ok()) return 0;
  int fd = memfd_create("qcow2-fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (::write(fd, data, size) != static_cast<ssize_t>(size)) {
    ::close(fd);
    return 0;
  }
  {
    // The backing file is not opened: unallocated clusters read as zeros.
    auto image =
        Qcow2Image::open(ImageFile::from_fd(UniqueFd(fd), true), *header, nullptr, false, 1 << 20);
    if (image.ok()) {
      exercise(**image, data, size);
      (void)(*image)->check(false);
      (void)(*image)->check(true);
    }
  }
  return 0;
}
