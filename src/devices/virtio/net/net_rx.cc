// The receive half of NetQueuePair: backend frames into the guest's receive buffers.
#include <climits>
#include <cstring>

#include "base/log.h"
#include "devices/virtio/net/net_queue_pair.h"

namespace vmkit::net {
namespace {

// Copies between a flat buffer and the bytes of `iov` seen as one string, from `offset`.
size_t copy_from_iov(std::span<const iovec> iov, size_t offset, std::span<uint8_t> out) {
  size_t done = 0;
  for (const iovec& v : iov) {
    if (done == out.size()) break;
    if (offset >= v.iov_len) {
      offset -= v.iov_len;
      continue;
    }
    size_t n = std::min(v.iov_len - offset, out.size() - done);
    std::memcpy(out.data() + done, static_cast<const uint8_t*>(v.iov_base) + offset, n);
    done += n;
    offset = 0;
  }
  return done;
}

size_t copy_to_iov(std::span<const iovec> iov, size_t offset, std::span<const uint8_t> data) {
  size_t done = 0;
  for (const iovec& v : iov) {
    if (done == data.size()) break;
    if (offset >= v.iov_len) {
      offset -= v.iov_len;
      continue;
    }
    size_t n = std::min(v.iov_len - offset, data.size() - done);
    std::memcpy(static_cast<uint8_t*>(v.iov_base) + offset, data.data() + done, n);
    done += n;
    offset = 0;
  }
  return done;
}

// The receive buffers needed before reading: the largest frame the offloads allow.
constexpr uint64_t kTargetGso = kVnetHeaderSize + kMaxFrameSize;
constexpr uint64_t kTargetMtu = kVnetHeaderSize + kEthHeaderSize + 4 + 1500;

}  // namespace

void NetQueuePair::refresh_filter() {
  uint64_t generation = shared_.filter_generation.load(std::memory_order_acquire);
  if (generation == filter_generation_) return;
  std::lock_guard lock(shared_.filter_mutex);
  filter_ = shared_.filter;
  filter_generation_ = shared_.filter_generation.load(std::memory_order_relaxed);
}

bool NetQueuePair::fill_stash(uint64_t target) {
  const GuestMemory& mem = *shared_.memory;
  size_t max_chains = mergeable_ ? stash_.size() : 1;
  while (stash_room_ < target && stash_count_ < max_chains) {
    auto popped = rx_->queue.pop(rx_chain_);
    if (!popped.ok()) {
      fail(popped.error());
      return false;
    }
    if (!*popped) break;
    if (rx_chain_.writable_bytes() == 0) {
      // Nothing the device can write: give it back empty.
      LOG_GUEST_ERROR("virtio-net rx{}: receive chain without writable buffers", index_);
      rx_used_ = true;
      Status used = rx_->queue.add_used(rx_chain_.head(), 0);
      if (!used.ok()) {
        fail(used.error());
        return false;
      }
      continue;
    }
    Stashed& s = stash_at(stash_count_);
    s.head = rx_chain_.head();
    s.room = std::min<uint64_t>(rx_chain_.writable_bytes(), kVnetHeaderSize + kMaxFrameSize);
    s.iov.clear();
    Status mapped = buffer_iovecs(mem, rx_chain_.writable(), 0, s.room, s.iov);
    if (!mapped.ok()) {
      fail(mapped.error());  // cannot happen: checked at pop
      return false;
    }
    ++stash_count_;
    stash_room_ += s.room;
  }
  return true;
}

void NetQueuePair::process_rx() {
  if (!rx_ || failed_ || !active_ || backend_down_) return;
  refresh_filter();
  uint64_t target = shared_.rx_gso.load(std::memory_order_relaxed) ? kTargetGso : kTargetMtu;
  size_t frames = 0;
  while (!failed_ && frames < kBatch) {
    if (pending_) {
      if (!place_pending()) break;
      continue;
    }
    if (!fill_stash(target)) break;
    if (stash_count_ == 0) {
      auto more = rx_->queue.enable_notification();
      if (!more.ok()) {
        fail(more.error());
        break;
      }
      if (*more) continue;
      // No receive buffers: stop polling the backend until the guest gives some.
      if (rx_wants_backend_) stats_.rx_stalls.fetch_add(1, std::memory_order_relaxed);
      rx_wants_backend_ = false;
      break;
    }
    // The stashed chains up to the target, then the scratch buffer.
    iov_.clear();
    size_t included = 0;
    uint64_t room = 0;
    size_t limit = mergeable_ ? stash_count_ : 1;
    while (included < limit && room < target) {
      Stashed& s = stash_at(included);
      if (iov_.size() + s.iov.size() + 1 > IOV_MAX) break;
      iov_.insert(iov_.end(), s.iov.begin(), s.iov.end());
      room += s.room;
      ++included;
    }
    if (included == 0) {
      fail(Error("receive chain in more than 1023 pieces"));
      break;
    }
    iov_.push_back(iovec{scratch_.data(), scratch_.size()});
    auto received = backend_.receive(iov_);
    if (!received.ok()) {
      LOG_ERROR("virtio-net rx{}: {}; the backend is no longer polled", index_,
                received.error().message());
      backend_down_ = true;
      break;
    }
    if (*received == 0) {
      rx_wants_backend_ = true;
      break;
    }
    ++frames;
    receive_one(*received, included, room);
  }
  update_watches();
  finish_batch(rx_, rx_used_);
}

bool NetQueuePair::accepted_by_filter(size_t n) {
  uint8_t prefix[16] = {};
  size_t len = std::min<size_t>(sizeof(prefix), n - kVnetHeaderSize);
  size_t got = copy_from_iov(iov_, kVnetHeaderSize, std::span(prefix, len));
  return filter_->accepts(std::span<const uint8_t>(prefix, got));
}

void NetQueuePair::receive_one(size_t n, size_t included, uint64_t room) {
  // The buffers were filled to the last byte: the frame may have been cut (backends cut
  // frames to the buffers). The scratch buffer alone holds the largest frame, so this only
  // happens to frames no backend should produce.
  bool cut = n >= room + scratch_.size();
  if (n < kVnetHeaderSize + kEthHeaderSize || cut || (!mergeable_ && n > room)) {
    // Larger than the guest's buffer (without mergeable buffers), cut, or a runt.
    stats_.rx_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (filter_ && !filter_->accepts_all() && !accepted_by_filter(n)) {
    stats_.rx_filtered.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (n <= room) {
    size_t chains = 0;
    uint64_t covered = 0;
    while (covered < n) covered += stash_at(chains++).room;
    complete_frame(n, chains);
    return;
  }
  // Larger than the chains read into: the rest waits in scratch for more chains.
  pending_ = Pending{n, static_cast<size_t>(room), included, static_cast<size_t>(room)};
  (void)place_pending();
}

bool NetQueuePair::place_pending() {
  Pending& p = *pending_;
  while (p.placed < p.total) {
    if (p.chains == stash_.size()) {
      // Every buffer the queue can hold is stashed and the frame still does not fit: no
      // more can come (a hostile guest could offer the same heads again forever). Drop it;
      // the stashed buffers stay for the next frame.
      LOG_GUEST_ERROR("virtio-net rx{}: a {}-byte frame is larger than the whole receive queue",
                      index_, p.total);
      stats_.rx_dropped.fetch_add(1, std::memory_order_relaxed);
      pending_.reset();
      return true;
    }
    if (p.chains == stash_count_) {
      if (!fill_stash(stash_room_ + 1)) return false;
      if (p.chains == stash_count_) {
        auto more = rx_->queue.enable_notification();
        if (!more.ok()) {
          fail(more.error());
          return false;
        }
        if (*more) continue;
        if (rx_wants_backend_) stats_.rx_stalls.fetch_add(1, std::memory_order_relaxed);
        rx_wants_backend_ = false;  // wait for buffers; the backend is not read meanwhile
        return false;
      }
    }
    Stashed& s = stash_at(p.chains);
    size_t n = std::min<size_t>(s.room, p.total - p.placed);
    copy_to_iov(s.iov, 0, std::span(scratch_.data() + (p.placed - p.scratch_start), n));
    p.placed += n;
    ++p.chains;
  }
  size_t total = p.total, chains = p.chains;
  pending_.reset();
  complete_frame(total, chains);
  return true;
}

void NetQueuePair::complete_frame(size_t total, size_t chains) {
  // num_buffers in the header the backend wrote (it leaves those two bytes alone).
  uint16_t num_buffers = static_cast<uint16_t>(chains);
  uint8_t nb[2];
  std::memcpy(nb, &num_buffers, sizeof(nb));
  size_t offset = kVnetNumBuffersOffset;
  size_t written = 0;
  for (size_t i = 0; i < chains && written < sizeof(nb); ++i) {
    Stashed& s = stash_at(i);
    if (offset >= s.room) {
      offset -= s.room;
      continue;
    }
    written +=
        copy_to_iov(s.iov, offset, std::span<const uint8_t>(nb + written, sizeof(nb) - written));
    offset = 0;
  }
  uint64_t left = total;
  for (size_t i = 0; i < chains; ++i) {
    Stashed& s = stash_at(0);
    auto len = static_cast<uint32_t>(std::min<uint64_t>(s.room, left));
    left -= len;
    Status used = rx_->queue.add_used(s.head, len);
    s.iov.clear();
    stash_head_ = (stash_head_ + 1) % stash_.size();
    --stash_count_;
    stash_room_ -= s.room;
    if (!used.ok()) {
      fail(used.error());
      return;
    }
  }
  rx_used_ = true;
  stats_.rx_frames.fetch_add(1, std::memory_order_relaxed);
  stats_.rx_bytes.fetch_add(total - kVnetHeaderSize, std::memory_order_relaxed);
}

}  // namespace vmkit::net
