#include "devices/virtio/console/console_port.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "base/log.h"

namespace vmkit {
namespace {

// Bytes moved per read(2) into the guest's receive buffers.
constexpr uint64_t kMaxReadBytes = 64 * 1024;

}  // namespace

ConsolePort::ConsolePort(std::string name, ConsoleBackend backend, EventLoop& loop,
                         const GuestMemory& mem, VirtioInterrupt& interrupt,
                         std::optional<ActiveQueue> rx, std::optional<ActiveQueue> tx)
    : name_(std::move(name)),
      backend_(backend),
      loop_(loop),
      mem_(mem),
      interrupt_(interrupt),
      rx_(std::move(rx)),
      tx_(std::move(tx)) {
  if (backend_.input_fd >= 0) {
    int flags = ::fcntl(backend_.input_fd, F_GETFL);
    input_blocking_ = flags >= 0 && !(flags & O_NONBLOCK);
  }
}

ConsolePort::~ConsolePort() {
  stop();
}

Status ConsolePort::start() {
  if (rx_) {
    TRY(loop_.add(rx_->notify->fd(), EPOLLIN, [this](uint32_t) { on_rx_notify(); }));
    TRY(rx_->notify->signal());
  }
  if (tx_) {
    TRY(loop_.add(tx_->notify->fd(), EPOLLIN, [this](uint32_t) { on_tx_notify(); }));
    TRY(tx_->notify->signal());
  }
  return {};
}

void ConsolePort::stop() {
  if (rx_) loop_.remove(rx_->notify->fd());
  if (tx_) loop_.remove(tx_->notify->fd());
  want_input_ = want_output_ = false;
  input_open_ = output_open_ = false;
  update_watches();
  rx_.reset();
  tx_.reset();
}

void ConsolePort::fail(const Error& error) {
  if (failed_) return;
  failed_ = true;
  LOG_GUEST_ERROR("virtio-console {}: {}", name_, error.message());
  interrupt_.signal_device_error();
}

void ConsolePort::on_rx_notify() {
  rx_->notify->consume();
  want_input_ = true;  // the guest may have given buffers
  pump_input();
}

void ConsolePort::on_tx_notify() {
  tx_->notify->consume();
  pump_output();
}

void ConsolePort::on_fd(int fd, uint32_t events) {
  if (fd == backend_.input_fd && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) pump_input();
  if (fd == backend_.output_fd && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
    want_output_ = false;
    pump_output();
  }
}

void ConsolePort::pump_input() {
  bool used = false;
  while (!failed_ && rx_ && input_open_ && backend_.input_fd >= 0) {
    if (!have_rx_chain_) {
      auto popped = rx_->queue.pop(rx_chain_);
      if (!popped.ok()) {
        fail(popped.error());
        break;
      }
      if (!*popped) {
        auto more = rx_->queue.enable_notification();
        if (more.ok() && *more) continue;
        want_input_ = false;  // no buffer: leave the data with the host until the guest asks
        break;
      }
      have_rx_chain_ = true;
    }
    if (input_blocking_) {
      // Never block the device thread in read(2): only read what is there.
      pollfd p{backend_.input_fd, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) {
        want_input_ = true;
        break;
      }
    }
    iov_.clear();
    uint64_t room = std::min(rx_chain_.writable_bytes(), kMaxReadBytes);
    if (!buffer_iovecs(mem_, rx_chain_.writable(), 0, room, iov_).ok()) {
      fail(Error("receive buffer outside guest RAM"));  // cannot happen: checked at pop
      break;
    }
    ssize_t n = ::readv(backend_.input_fd, iov_.data(), static_cast<int>(iov_.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      want_input_ = true;
      break;
    }
    if (n <= 0) {
      // EOF, or an error such as EIO from a pty whose other side is gone: stop reading.
      if (n < 0) LOG_WARN("virtio-console {}: input closed: {}", name_, std::strerror(errno));
      input_open_ = false;
      break;
    }
    if (!rx_->queue.add_used(rx_chain_.head(), static_cast<uint32_t>(n)).ok()) {
      fail(Error("used ring write failed"));
      break;
    }
    have_rx_chain_ = false;
    used = true;
    if (input_blocking_) break;  // another read could block the thread
  }
  update_watches();
  if (used && rx_->queue.needs_interrupt()) interrupt_.signal_used(rx_->index);
}

void ConsolePort::pump_output() {
  bool used = false;
  while (!failed_ && tx_) {
    if (!have_tx_chain_) {
      auto popped = tx_->queue.pop(tx_chain_);
      if (!popped.ok()) {
        fail(popped.error());
        break;
      }
      if (!*popped) {
        auto more = tx_->queue.enable_notification();
        if (more.ok() && *more) continue;
        break;
      }
      have_tx_chain_ = true;
      tx_offset_ = 0;
    }
    uint64_t left = tx_chain_.readable_bytes() - tx_offset_;
    if (left > 0 && output_open_ && backend_.output_fd >= 0) {
      iov_.clear();
      if (!buffer_iovecs(mem_, tx_chain_.readable(), tx_offset_, left, iov_).ok()) {
        fail(Error("transmit buffer outside guest RAM"));
        break;
      }
      int count = static_cast<int>(std::min<size_t>(iov_.size(), IOV_MAX));
      ssize_t n = ::writev(backend_.output_fd, iov_.data(), count);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        want_output_ = true;  // resume when the host can take more
        break;
      }
      if (n < 0) {
        LOG_WARN("virtio-console {}: output closed: {}", name_, std::strerror(errno));
        output_open_ = false;  // guest output is discarded from now on
      } else {
        tx_offset_ += static_cast<uint64_t>(n);
        if (tx_offset_ < tx_chain_.readable_bytes()) continue;
      }
    }
    // All written (or discarded): the device wrote nothing into the chain.
    if (!tx_->queue.add_used(tx_chain_.head(), 0).ok()) {
      fail(Error("used ring write failed"));
      break;
    }
    have_tx_chain_ = false;
    used = true;
  }
  update_watches();
  if (used && tx_->queue.needs_interrupt()) interrupt_.signal_used(tx_->index);
}

void ConsolePort::watch(int fd, uint32_t events) {
  uint32_t& state = fd == backend_.input_fd ? watched_in_ : watched_out_;
  if (events == state) return;
  if (state == 0) {
    Status added = loop_.add(fd, events, [this, fd](uint32_t ev) { on_fd(fd, ev); });
    if (!added.ok()) {
      // Not pollable (a regular file): input cannot be waited for; output never blocks.
      LOG_WARN("virtio-console {}: cannot watch fd {}: {}", name_, fd, added.error().message());
      if (fd == backend_.input_fd) input_open_ = false;
      return;
    }
  } else if (events == 0) {
    loop_.remove(fd);
  } else {
    (void)loop_.modify(fd, events);
  }
  state = events;
}

void ConsolePort::update_watches() {
  uint32_t in =
      (backend_.input_fd >= 0 && input_open_ && want_input_ && rx_) ? uint32_t{EPOLLIN} : 0u;
  uint32_t out =
      (backend_.output_fd >= 0 && output_open_ && want_output_) ? uint32_t{EPOLLOUT} : 0u;
  if (backend_.input_fd >= 0 && backend_.input_fd == backend_.output_fd) {
    watch(backend_.input_fd, in | out);
    return;
  }
  if (backend_.input_fd >= 0) watch(backend_.input_fd, in);
  if (backend_.output_fd >= 0) watch(backend_.output_fd, out);
}

}  // namespace vmkit
