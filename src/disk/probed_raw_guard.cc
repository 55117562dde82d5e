#include "disk/probed_raw_guard.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "disk/iov_util.h"
#include "disk/qcow2_format.h"

namespace vmkit {

bool writes_image_magic(uint64_t offset, std::span<const iovec> iov) {
  if (offset >= 4) return false;
  // The bytes this write puts into [offset, 4). Refusing every write whose bytes match the
  // magic's corresponding bytes means no sequence of small writes can assemble it either.
  size_t got = std::min<size_t>(static_cast<size_t>(4 - offset), iov_length(iov));
  if (got == 0) return false;
  uint8_t head[4] = {};
  iov_to_buf(iov, 0, head, got);
  const uint32_t m = qcow2::kMagic;
  const uint8_t magic[4] = {static_cast<uint8_t>(m >> 24), static_cast<uint8_t>(m >> 16),
                            static_cast<uint8_t>(m >> 8), static_cast<uint8_t>(m)};
  return std::memcmp(head, magic + offset, got) == 0;
}

namespace {

constexpr const char* kRefusal =
    "write to sector 0 refused: it would turn a probed raw image into another format";

class GuardedQueue final : public DiskQueue {
 public:
  explicit GuardedQueue(std::unique_ptr<DiskQueue> inner) : inner_(std::move(inner)) {}
  int event_fd() const override { return inner_->event_fd(); }
  Status submit(const IoRequest& r) override {
    if (r.op == IoOp::kWrite && writes_image_magic(r.offset, r.iov)) return Error(kRefusal, EPERM);
    return inner_->submit(r);
  }
  void kick() override { inner_->kick(); }
  size_t reap(std::vector<IoCompletion>& out) override { return inner_->reap(out); }
  bool has_completions() const override { return inner_->has_completions(); }

 private:
  std::unique_ptr<DiskQueue> inner_;
};

class ProbedRawGuard final : public DiskImage {
 public:
  explicit ProbedRawGuard(std::unique_ptr<DiskImage> inner) : inner_(std::move(inner)) {}
  std::string format() const override { return inner_->format(); }
  uint64_t virtual_size() const override { return inner_->virtual_size(); }
  bool read_only() const override { return inner_->read_only(); }
  uint32_t discard_granularity() const override { return inner_->discard_granularity(); }
  Status read(uint64_t offset, std::span<const iovec> iov) override {
    return inner_->read(offset, iov);
  }
  Status write(uint64_t offset, std::span<const iovec> iov) override {
    if (writes_image_magic(offset, iov)) return Error(kRefusal, EPERM);
    return inner_->write(offset, iov);
  }
  Status flush() override { return inner_->flush(); }
  Status discard(uint64_t offset, uint64_t length) override {
    return inner_->discard(offset, length);
  }
  Status write_zeroes(uint64_t offset, uint64_t length, bool may_unmap) override {
    return inner_->write_zeroes(offset, length, may_unmap);
  }
  Result<std::unique_ptr<DiskQueue>> open_queue(unsigned depth) override {
    auto inner = TRY(inner_->open_queue(depth));
    return std::unique_ptr<DiskQueue>(new GuardedQueue(std::move(inner)));
  }

 private:
  std::unique_ptr<DiskImage> inner_;
};

}  // namespace

std::unique_ptr<DiskImage> guard_probed_raw(std::unique_ptr<DiskImage> raw) {
  return std::make_unique<ProbedRawGuard>(std::move(raw));
}

}  // namespace vmkit
