// The transmit half of NetQueuePair: one chain to the backend.
#include <climits>

#include "base/log.h"
#include "devices/virtio/net/net_header.h"
#include "devices/virtio/net/net_queue_pair.h"

namespace vmkit::net {

void NetQueuePair::send_chain() {
  const GuestMemory& mem = *shared_.memory;
  const DescriptorChain& chain = tx_chain_;
  auto complete = [&] {
    has_tx_chain_ = false;
    tx_used_ = true;
    Status used = tx_->queue.add_used(chain.head(), 0);
    if (!used.ok()) fail(used.error());
  };
  auto drop = [&](const char* why) {
    stats_.tx_dropped.fetch_add(1, std::memory_order_relaxed);
    LOG_GUEST_ERROR("virtio-net tx{}: frame dropped: {}", index_, why);
    complete();
  };

  uint64_t readable = chain.readable_bytes();
  if (readable < kVnetHeaderSize) return drop("chain shorter than the virtio-net header");
  // SAFETY: VnetHeader is a packed-by-construction POD of 12 bytes, read as bytes.
  std::span<uint8_t> header_bytes(reinterpret_cast<uint8_t*>(&tx_header_), sizeof(tx_header_));
  if (!read_buffers(mem, chain.readable(), 0, header_bytes).ok()) {
    return drop("header not readable");
  }
  uint64_t frame_len = readable - kVnetHeaderSize;
  TxHeaderVerdict verdict = check_tx_header(
      tx_header_, frame_len > kMaxFrameSize ? kMaxFrameSize + 1 : frame_len, shared_.features);
  if (verdict != TxHeaderVerdict::kOk) return drop(describe(verdict));

  // The checked copy of the header, then the frame straight from guest memory.
  iov_.clear();
  iov_.push_back(iovec{&tx_header_, kVnetHeaderSize});
  if (!buffer_iovecs(mem, chain.readable(), kVnetHeaderSize, frame_len, iov_).ok()) {
    return drop("frame not readable");
  }
  if (iov_.size() > IOV_MAX) return drop("frame in more than 1023 pieces");
  auto sent = backend_.send(iov_);
  if (!sent.ok()) {
    LOG_GUEST_ERROR("virtio-net tx{}: {}", index_, sent.error().message());
    stats_.tx_errors.fetch_add(1, std::memory_order_relaxed);
    return complete();
  }
  switch (*sent) {
    case SendResult::kWouldBlock:
      tx_blocked_ = true;  // keep the chain; resume when the backend is writable
      update_watches();
      return;
    case SendResult::kDropped:
      stats_.tx_errors.fetch_add(1, std::memory_order_relaxed);
      break;
    case SendResult::kSent:
      stats_.tx_frames.fetch_add(1, std::memory_order_relaxed);
      stats_.tx_bytes.fetch_add(frame_len, std::memory_order_relaxed);
      break;
  }
  complete();
}

}  // namespace vmkit::net
