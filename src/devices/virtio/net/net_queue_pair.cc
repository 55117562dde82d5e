#include "devices/virtio/net/net_queue_pair.h"

#include <fmt/format.h>
#include <sys/epoll.h>

#include <algorithm>

#include "base/log.h"
#include "devices/virtio/net/net_spec.h"

namespace vmkit::net {

NetQueuePair::NetQueuePair(uint16_t index, NetShared& shared, NetQueue& backend,
                           std::optional<ActiveQueue> rx, std::optional<ActiveQueue> tx)
    : index_(index),
      shared_(shared),
      backend_(backend),
      rx_(std::move(rx)),
      tx_(std::move(tx)),
      mergeable_((shared.features & kFeatureMrgRxbuf) != 0),
      control_(EventFd::create().value()) {
  if (rx_) {
    stash_.resize(rx_->queue.size());
    scratch_.resize(kVnetHeaderSize + kMaxFrameSize);
  }
}

NetQueuePair::~NetQueuePair() {
  stop();
}

Status NetQueuePair::start_thread(bool active) {
  thread_ = TRY(IoThread::create(fmt::format("net-q{}", index_)));
  EventLoop& loop = thread_->loop();
  if (tx_) {
    TRY(loop.add(tx_->notify->fd(), EPOLLIN, [this](uint32_t) {
      tx_->notify->consume();
      process_tx();
    }));
  }
  if (rx_) {
    TRY(loop.add(rx_->notify->fd(), EPOLLIN, [this](uint32_t) {
      rx_->notify->consume();
      rx_wants_backend_ = true;  // the guest may have added buffers
      process_rx();
    }));
  }
  TRY(loop.add(control_.fd(), EPOLLIN, [this](uint32_t) {
    control_.consume();
    set_active_now(want_active_.load());
  }));
  want_active_ = active;
  active_ = active;
  update_watches();
  thread_->start();
  // Buffers may have been made available before DRIVER_OK.
  if (tx_) TRY(tx_->notify->signal());
  if (rx_) TRY(rx_->notify->signal());
  return {};
}

void NetQueuePair::stop() {
  if (thread_) thread_->stop();
  // The loop is gone with the thread; no watch is left to remove.
  thread_.reset();
  watched_.clear();
  for (Stashed& s : stash_) s.iov.clear();  // drop guest pointers
  stash_count_ = 0;
  stash_room_ = 0;
  pending_.reset();
  iov_.clear();
}

void NetQueuePair::request_active(bool active) {
  want_active_ = active;
  (void)control_.signal();
}

void NetQueuePair::set_active_now(bool active) {
  if (active == active_) return;
  Status s = backend_.set_enabled(active);
  if (!s.ok()) LOG_ERROR("virtio-net queue pair {}: {}", index_, s.error().message());
  active_ = active;
  if (active) rx_wants_backend_ = true;
  update_watches();
  if (active) process_rx();
}

void NetQueuePair::service_backend() {
  backend_.service();
}

void NetQueuePair::fail(const Error& error) {
  if (failed_) return;
  failed_ = true;
  LOG_GUEST_ERROR("virtio-net queue pair {}: {}", index_, error.message());
  shared_.interrupt->signal_device_error();
  update_watches();
}

void NetQueuePair::finish_batch(std::optional<ActiveQueue>& q, bool& used) {
  if (!used) return;
  used = false;
  if (q->queue.needs_interrupt()) shared_.interrupt->signal_used(q->index);
}

void NetQueuePair::on_event(int fd, uint32_t events) {
  bool error = (events & (EPOLLERR | EPOLLHUP)) != 0;
  if (fd == backend_.service_fd() && (events & EPOLLIN)) backend_.service();
  if (fd == backend_.tx_fd() && tx_blocked_ && (events & EPOLLOUT)) {
    tx_blocked_ = false;
    update_watches();
    process_tx();
  }
  if (fd == backend_.rx_fd() && (events & EPOLLIN)) process_rx();
  if (error && !(events & (EPOLLIN | EPOLLOUT)) && !backend_down_) {
    // A tap whose interface was deleted reports errors forever: stop polling it.
    LOG_ERROR("virtio-net queue pair {}: the backend reports an error; it is no longer polled",
              index_);
    backend_down_ = true;
    update_watches();
  }
}

void NetQueuePair::watch(int fd, uint32_t events) {
  auto it =
      std::find_if(watched_.begin(), watched_.end(), [&](const auto& w) { return w.first == fd; });
  uint32_t current = it == watched_.end() ? 0 : it->second;
  if (current == events) return;
  EventLoop& loop = thread_->loop();
  if (current == 0) {
    Status added = loop.add(fd, events, [this, fd](uint32_t ev) { on_event(fd, ev); });
    if (!added.ok()) {
      LOG_ERROR("virtio-net queue pair {}: {}", index_, added.error().message());
      return;
    }
    watched_.emplace_back(fd, events);
  } else if (events == 0) {
    loop.remove(fd);
    watched_.erase(it);
  } else {
    (void)loop.modify(fd, events);
    it->second = events;
  }
}

void NetQueuePair::update_watches() {
  if (!thread_) return;
  bool live = active_ && !failed_ && !backend_down_;
  uint32_t rx = (live && rx_ && rx_wants_backend_ && !pending_) ? uint32_t{EPOLLIN} : 0u;
  uint32_t tx = (live && tx_ && tx_blocked_) ? uint32_t{EPOLLOUT} : 0u;
  uint32_t service = live ? uint32_t{EPOLLIN} : 0u;
  std::vector<std::pair<int, uint32_t>> wanted;
  auto add = [&](int fd, uint32_t ev) {
    if (fd < 0) return;
    for (auto& w : wanted) {
      if (w.first == fd) {
        w.second |= ev;
        return;
      }
    }
    wanted.emplace_back(fd, ev);
  };
  add(backend_.rx_fd(), rx);
  add(backend_.tx_fd(), tx);
  add(backend_.service_fd(), service);
  for (auto& [fd, ev] : wanted) watch(fd, ev);
}

// Transmit.

void NetQueuePair::process_tx() {
  if (!tx_ || failed_ || tx_blocked_) return;
  size_t frames = 0;
  while (!failed_ && !tx_blocked_) {
    if (!has_tx_chain_) {
      if (frames == kBatch) {
        // Let the receive side and other events in; come back at once.
        (void)tx_->notify->signal();
        break;
      }
      auto popped = tx_->queue.pop(tx_chain_);
      if (!popped.ok()) {
        fail(popped.error());
        break;
      }
      if (!*popped) {
        auto more = tx_->queue.enable_notification();
        if (!more.ok()) {
          fail(more.error());
          break;
        }
        if (*more) continue;
        break;
      }
      has_tx_chain_ = true;
      ++frames;
    }
    send_chain();
  }
  finish_batch(tx_, tx_used_);
}

}  // namespace vmkit::net
