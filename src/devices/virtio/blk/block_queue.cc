#include "devices/virtio/blk/block_queue.h"

#include <poll.h>
#include <sys/epoll.h>

#include <chrono>
#include <cstring>

#include "base/log.h"
#include "devices/virtio/blk/block_spec.h"

namespace vmkit {
namespace {

constexpr uint64_t kEarlyCompletionBytes = 256 * 1024;

IoOp op_for(BlockRequest::Kind kind) {
  switch (kind) {
    case BlockRequest::Kind::kRead:
      return IoOp::kRead;
    case BlockRequest::Kind::kWrite:
      return IoOp::kWrite;
    case BlockRequest::Kind::kDiscard:
      return IoOp::kDiscard;
    case BlockRequest::Kind::kWriteZeroes:
      return IoOp::kWriteZeroes;
    default:
      return IoOp::kFlush;
  }
}

}  // namespace

Result<std::unique_ptr<BlockQueue>> BlockQueue::create(ActiveQueue queue,
                                                       const BlockQueueContext& context,
                                                       DiskImage& image) {
  auto disk = TRY(image.open_queue(queue.queue.size()));
  auto thread = TRY(IoThread::create(fmt::format("blk-q{}", queue.index)));
  return std::unique_ptr<BlockQueue>(
      new BlockQueue(std::move(queue), context, std::move(disk), std::move(thread)));
}

Status BlockQueue::start_thread() {
  TRY(thread_->loop().add(queue_.notify->fd(), EPOLLIN, [this](uint32_t) { process_notify(); }));
  TRY(thread_->loop().add(disk_->event_fd(), EPOLLIN, [this](uint32_t) { process_completions(); }));
  thread_->start();
  // Buffers may have been made available before DRIVER_OK: look once.
  return queue_.notify->signal();
}

BlockQueue::BlockQueue(ActiveQueue queue, const BlockQueueContext& context,
                       std::unique_ptr<DiskQueue> disk, std::unique_ptr<IoThread> thread)
    : queue_(std::move(queue)),
      context_(context),
      disk_(std::move(disk)),
      thread_(std::move(thread)),
      slots_(queue_.queue.size()) {}

void BlockQueue::fail(const Error& error) {
  if (failed_) return;
  failed_ = true;
  LOG_GUEST_ERROR("virtio-blk queue {}: {}", queue_.index, error.message());
  context_.interrupt->signal_device_error();
}

void BlockQueue::process_notify() {
  queue_.notify->consume();
  if (failed_) return;
  note_wakeup();
  while (true) {
    while (true) {
      auto popped = queue_.queue.pop(chain_);
      if (!popped.ok()) {
        fail(popped.error());
        break;
      }
      if (!*popped) break;
      handle(chain_);
    }
    disk_->kick();
    // After a round of large transfers, what the kernel finished in the submit call (io_uring
    // copies cached data inline) goes back to the guest at once, so that it refills the queue
    // while this thread copies the next round (1M reads: +13% in the nested host). Rounds of
    // small requests wait for the completion event, which batches their interrupts (returning
    // them early too cost 4k random writes a third of their IOPS).
    if (round_bytes_ >= kEarlyCompletionBytes) process_completions();
    round_bytes_ = 0;
    if (failed_) break;
    if (poll_for_requests()) continue;
    if (failed_) break;
    auto more = queue_.queue.enable_notification();
    if (!more.ok()) {
      fail(more.error());
      break;
    }
    if (!*more) {
      if (context_.poll_max_ns > 0) {
        sleeping_ = true;
        sleep_start_ = Clock::now();
      }
      break;
    }
  }
  finish_batch();
}

void BlockQueue::note_wakeup() {
  if (context_.poll_max_ns == 0 || !sleeping_) return;
  sleeping_ = false;
  if (polling_) return;
  // The driver came back within a window of the queue's last work: polling would have caught
  // it without its exit.
  auto slept = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - sleep_start_);
  if (static_cast<uint64_t>(slept.count()) <= context_.poll_max_ns) {
    polling_ = true;
    poll_misses_ = 0;
  }
}

bool BlockQueue::poll_for_requests() {
  if (!polling_) return false;
  auto window = std::chrono::nanoseconds(context_.poll_max_ns);
  auto deadline = Clock::now() + window;
  while (true) {
    if (disk_->has_completions()) {
      process_completions();
      if (failed_) return false;
      deadline = Clock::now() + window;
    }
    if (queue_.queue.has_available()) {
      poll_misses_ = 0;
      return true;
    }
    if (Clock::now() >= deadline) break;
    __builtin_ia32_pause();
  }
  if (++poll_misses_ >= kPollMisses) polling_ = false;
  return false;
}

void BlockQueue::handle(const DescriptorChain& chain) {
  uint16_t head = chain.head();
  Slot& slot = slots_[head];
  if (slot.busy) {
    // The driver made a chain available again before the device returned it.
    fail(Error(fmt::format("descriptor {} made available while in flight", head)));
    return;
  }
  const GuestMemory& mem = *context_.memory;
  Status parsed = BlockRequest::parse_into(chain, mem, context_.limits, slot.request);
  if (!parsed.ok()) {
    // No room for a status byte: return the chain untouched.
    LOG_GUEST_ERROR("virtio-blk queue {}: {}", queue_.index, parsed.error().message());
    complete(head, blk::kStatusIoErr, 0);
    return;
  }
  BlockRequest& req = slot.request;
  if (req.status != blk::kStatusOk) {
    complete(head, req.status, 1);
    return;
  }
  switch (req.kind) {
    case BlockRequest::Kind::kGetId: {
      uint64_t at = 0;
      for (const iovec& v : req.iov) {
        std::memcpy(v.iov_base, context_.id.data() + at, v.iov_len);
        at += v.iov_len;
      }
      complete(head, blk::kStatusOk, req.used_len);
      return;
    }
    case BlockRequest::Kind::kRead:
    case BlockRequest::Kind::kWrite:
      if (req.length == 0) {
        complete(head, blk::kStatusOk, req.used_len);
        return;
      }
      break;
    default:
      break;
  }
  IoRequest io;
  io.op = op_for(req.kind);
  io.offset = req.offset;
  io.length = req.length;
  io.iov = req.iov;
  io.may_unmap = req.unmap;
  io.cookie = head;
  slot.busy = true;
  ++in_flight_;
  if (io.op == IoOp::kRead || io.op == IoOp::kWrite) round_bytes_ += req.length;
  Status submitted = disk_->submit(io);
  if (!submitted.ok()) {
    LOG_WARN("virtio-blk queue {}: submit failed: {}", queue_.index, submitted.error().message());
    slot.busy = false;
    --in_flight_;
    complete(head, blk::kStatusIoErr, 1);
  }
}

void BlockQueue::complete(uint16_t head, uint8_t status, uint32_t used_len) {
  Slot& slot = slots_[head];
  if (used_len > 0) {
    Status written = context_.memory->write_obj(slot.request.status_addr, status);
    if (!written.ok()) fail(written.error());
  }
  Status used = queue_.queue.add_used(head, used_len);
  if (!used.ok()) fail(used.error());
  used_added_ = true;
}

void BlockQueue::process_completions() {
  completions_.clear();
  disk_->reap(completions_);
  for (const IoCompletion& c : completions_) {
    if (c.cookie >= slots_.size() || !slots_[c.cookie].busy) {
      LOG_ERROR("virtio-blk queue {}: completion for unknown request {}", queue_.index, c.cookie);
      continue;
    }
    auto head = static_cast<uint16_t>(c.cookie);
    Slot& slot = slots_[head];
    slot.busy = false;
    --in_flight_;
    const BlockRequest& req = slot.request;
    if (c.result == 0) {
      complete(head, blk::kStatusOk, req.used_len);
      continue;
    }
    bool unsupported = c.result == -EOPNOTSUPP && (req.kind == BlockRequest::Kind::kDiscard ||
                                                   req.kind == BlockRequest::Kind::kWriteZeroes);
    LOG_GUEST_ERROR("virtio-blk queue {}: request type {} at sector {} failed: {}", queue_.index,
                    req.type, req.sector, std::strerror(-c.result));
    complete(head, unsupported ? blk::kStatusUnsupp : blk::kStatusIoErr, 1);
  }
  finish_batch();
  // The guest's next request answers these completions: measure its delay from here.
  if (sleeping_) sleep_start_ = Clock::now();
}

void BlockQueue::finish_batch() {
  if (!used_added_) return;
  used_added_ = false;
  if (queue_.queue.needs_interrupt()) context_.interrupt->signal_used(queue_.index);
}

void BlockQueue::drain() {
  // The guest is gone (reset): wait for the kernel to finish what it was given, without
  // touching the rings.
  auto start = std::chrono::steady_clock::now();
  auto next_warning = start + std::chrono::seconds(5);
  while (in_flight_ > 0) {
    pollfd p{disk_->event_fd(), POLLIN, 0};
    ::poll(&p, 1, 1000);
    completions_.clear();
    disk_->reap(completions_);
    for (const IoCompletion& c : completions_) {
      if (c.cookie < slots_.size() && slots_[c.cookie].busy) {
        slots_[c.cookie].busy = false;
        --in_flight_;
      }
    }
    if (in_flight_ > 0 && std::chrono::steady_clock::now() > next_warning) {
      LOG_WARN("virtio-blk queue {}: still waiting for {} requests", queue_.index, in_flight_);
      next_warning += std::chrono::seconds(5);
    }
  }
}

void BlockQueue::stop() {
  if (stopped_) return;
  stopped_ = true;
  thread_->stop();
  drain();
  for (Slot& slot : slots_) slot.request = BlockRequest{};  // drop guest pointers
  disk_.reset();
}

}  // namespace vmkit
