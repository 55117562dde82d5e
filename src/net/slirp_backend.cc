#include "net/slirp_backend.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <libslirp.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <type_traits>

#include <fmt/format.h>

#include "base/log.h"

namespace vmkit {

struct SlirpBackend::Timer {
  SlirpTimerId id;
  void* cb_opaque;
  int64_t expire_ms = -1;  // -1: not armed
};

namespace {

// libslirp is opened when the first user network is created, not at exec: it pulls in glib and
// pcre2, whose relocation and resident pages (~0.8 MiB) a VM without `--net user` never needs.
// Its header still gives the types and the prototypes the pointers are checked against.
struct SlirpApi {
  decltype(&::slirp_new) new_ = nullptr;
  decltype(&::slirp_cleanup) cleanup = nullptr;
  decltype(&::slirp_add_hostfwd) add_hostfwd = nullptr;
  decltype(&::slirp_input) input = nullptr;
  decltype(&::slirp_handle_timer) handle_timer = nullptr;
  decltype(&::slirp_pollfds_fill) pollfds_fill = nullptr;
  decltype(&::slirp_pollfds_poll) pollfds_poll = nullptr;
};

constexpr const char* kSlirpLibrary = "libslirp.so.0";

struct LoadedSlirp {
  SlirpApi api;
  std::string error;  // empty once loaded
};

LoadedSlirp load_slirp() {
  LoadedSlirp out;
  // Never unloaded: the library lives as long as the process.
  void* lib = ::dlopen(kSlirpLibrary, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    out.error = fmt::format("user network: cannot load {} ({}): install Debian's libslirp0",
                            kSlirpLibrary, ::dlerror());
    return out;
  }
  auto bind = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, name));
    if (fn == nullptr && out.error.empty()) {
      out.error = fmt::format("user network: {} has no symbol {}", kSlirpLibrary, name);
    }
  };
  bind(out.api.new_, "slirp_new");
  bind(out.api.cleanup, "slirp_cleanup");
  bind(out.api.add_hostfwd, "slirp_add_hostfwd");
  bind(out.api.input, "slirp_input");
  bind(out.api.handle_timer, "slirp_handle_timer");
  bind(out.api.pollfds_fill, "slirp_pollfds_fill");
  bind(out.api.pollfds_poll, "slirp_pollfds_poll");
  return out;
}

const LoadedSlirp& loaded_slirp() {
  static const LoadedSlirp loaded = load_slirp();  // thread-safe, once
  return loaded;
}

// Only after SlirpBackend::create succeeded, which checked that the library loaded.
const SlirpApi& slirp() {
  return loaded_slirp().api;
}

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

short to_poll_events(int slirp_events) {
  int e = 0;
  if (slirp_events & SLIRP_POLL_IN) e |= POLLIN;
  if (slirp_events & SLIRP_POLL_OUT) e |= POLLOUT;
  if (slirp_events & SLIRP_POLL_PRI) e |= POLLPRI;
  if (slirp_events & SLIRP_POLL_ERR) e |= POLLERR;
  if (slirp_events & SLIRP_POLL_HUP) e |= POLLHUP;
  return static_cast<short>(e);
}

int to_slirp_events(short revents) {
  int e = 0;
  if (revents & POLLIN) e |= SLIRP_POLL_IN;
  if (revents & POLLOUT) e |= SLIRP_POLL_OUT;
  if (revents & POLLPRI) e |= SLIRP_POLL_PRI;
  if (revents & POLLERR) e |= SLIRP_POLL_ERR;
  if (revents & POLLHUP) e |= SLIRP_POLL_HUP;
  return e;
}

in_addr ipv4(uint32_t host_order) {
  in_addr a{};
  a.s_addr = htonl(host_order);
  return a;
}

}  // namespace

// The C callbacks libslirp calls, with `opaque` the backend.
struct SlirpCallbacks {
  static SlirpBackend& self(void* opaque) { return *static_cast<SlirpBackend*>(opaque); }

  static ssize_t send_packet(const void* buf, size_t len, void* opaque) {
    self(opaque).deliver(static_cast<const uint8_t*>(buf), len);
    return static_cast<ssize_t>(len);
  }
  static void guest_error(const char* msg, void*) { LOG_GUEST_ERROR("user network: {}", msg); }
  static int64_t clock_get_ns(void*) { return now_ns(); }
  static void* timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
    auto timer = std::make_unique<SlirpBackend::Timer>(SlirpBackend::Timer{id, cb_opaque, -1});
    void* handle = timer.get();
    self(opaque).timers_.push_back(std::move(timer));
    return handle;
  }
  static void timer_free(void* timer, void* opaque) {
    auto& timers = self(opaque).timers_;
    std::erase_if(timers, [&](const auto& t) { return t.get() == timer; });
  }
  static void timer_mod(void* timer, int64_t expire_ms, void* opaque) {
    static_cast<SlirpBackend::Timer*>(timer)->expire_ms = expire_ms;
    self(opaque).kick();  // re-arm the timerfd
  }
  static void register_poll_fd(int, void*) {}
  static void unregister_poll_fd(int, void*) {}
  static void notify(void* opaque) { self(opaque).kick(); }
  static int add_poll(int fd, int events, void* opaque) {
    auto& fds = self(opaque).pollfds_;
    fds.push_back(pollfd{fd, to_poll_events(events), 0});
    return static_cast<int>(fds.size() - 1);
  }
  static int get_revents(int idx, void* opaque) {
    auto& fds = self(opaque).pollfds_;
    if (idx < 0 || static_cast<size_t>(idx) >= fds.size()) return 0;
    return to_slirp_events(fds[static_cast<size_t>(idx)].revents);
  }
};

namespace {

const SlirpCb kCallbacks = {
    .send_packet = SlirpCallbacks::send_packet,
    .guest_error = SlirpCallbacks::guest_error,
    .clock_get_ns = SlirpCallbacks::clock_get_ns,
    .timer_new = nullptr,
    .timer_free = SlirpCallbacks::timer_free,
    .timer_mod = SlirpCallbacks::timer_mod,
    .register_poll_fd = SlirpCallbacks::register_poll_fd,
    .unregister_poll_fd = SlirpCallbacks::unregister_poll_fd,
    .notify = SlirpCallbacks::notify,
    .init_completed = nullptr,
    .timer_new_opaque = SlirpCallbacks::timer_new_opaque,
};

}  // namespace

Result<std::unique_ptr<SlirpBackend>> SlirpBackend::create(const SlirpParams& params) {
  if (const std::string& error = loaded_slirp().error; !error.empty()) return Error(error);
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return Error::from_errno("user network: epoll_create1");
  UniqueFd epoll(ep);
  int tfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (tfd < 0) return Error::from_errno("user network: timerfd_create");
  UniqueFd timer(tfd);
  EventFd wake = TRY(EventFd::create());
  EventFd rx_ready = TRY(EventFd::create());
  for (int fd : {timer.get(), wake.fd()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev) < 0) {
      return Error::from_errno("user network: epoll_ctl");
    }
  }
  std::unique_ptr<SlirpBackend> backend(
      new SlirpBackend(std::move(epoll), std::move(timer), std::move(wake), std::move(rx_ready)));

  SlirpConfig cfg{};
  cfg.version = 4;
  cfg.restricted = 0;
  cfg.in_enabled = true;
  cfg.vnetwork = ipv4(kUserNetwork);
  cfg.vnetmask = ipv4(kUserNetmask);
  cfg.vhost = ipv4(kUserHost);
  cfg.in6_enabled = params.ipv6;
  ::inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
  cfg.vprefix_len = 64;
  ::inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
  ::inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);
  cfg.vhostname = nullptr;
  cfg.vdhcp_start = ipv4(kUserDhcpStart);
  cfg.vnameserver = ipv4(kUserNameserver);
  cfg.if_mtu = kMtu;
  cfg.if_mru = kMtu;
  cfg.disable_host_loopback = false;
  cfg.enable_emu = false;
  backend->slirp_ = slirp().new_(&cfg, &kCallbacks, backend.get());
  if (backend->slirp_ == nullptr) return Error("user network: slirp_new failed");

  for (const HostForward& fwd : params.hostfwd) {
    errno = 0;
    if (slirp().add_hostfwd(backend->slirp_, fwd.udp ? 1 : 0, ipv4(fwd.host_addr), fwd.host_port,
                            ipv4(fwd.guest_addr), fwd.guest_port) < 0) {
      int err = errno;
      return Error(
          fmt::format("user network: cannot forward host {} port {}{}{}", fwd.udp ? "udp" : "tcp",
                      fwd.host_port, err != 0 ? ": " : " (is it in use?)",
                      err != 0 ? std::strerror(err) : ""),
          err);
    }
  }
  backend->refill();
  return backend;
}

SlirpBackend::SlirpBackend(UniqueFd epoll, UniqueFd timer, EventFd wake, EventFd rx_ready)
    : epoll_(std::move(epoll)),
      timer_(std::move(timer)),
      wake_(std::move(wake)),
      rx_ready_(std::move(rx_ready)) {
  tx_buffer_.resize(kMaxFrameSize);
}

SlirpBackend::~SlirpBackend() {
  if (slirp_ != nullptr) slirp().cleanup(slirp_);
}

void SlirpBackend::kick() {
  if (kicked_) return;
  kicked_ = true;
  (void)wake_.signal();
}

void SlirpBackend::deliver(const uint8_t* frame, size_t len) {
  if (len > kMaxFrameSize || backlog_.size() >= kBacklogFrames) {
    ++dropped_;
    return;
  }
  std::vector<uint8_t> buffer;
  if (!spare_.empty()) {
    buffer = std::move(spare_.back());
    spare_.pop_back();
  }
  buffer.assign(frame, frame + len);
  if (backlog_.empty()) (void)rx_ready_.signal();
  backlog_.push_back(std::move(buffer));
}

Result<SendResult> SlirpBackend::send(std::span<const iovec> iov) {
  // Gather the frame (the header was checked by the device: no offloads with this backend).
  size_t total = 0;
  size_t skip = kVnetHeaderSize;
  for (const iovec& v : iov) {
    const auto* base = static_cast<const uint8_t*>(v.iov_base);
    size_t len = v.iov_len;
    size_t s = std::min(skip, len);
    skip -= s;
    base += s;
    len -= s;
    if (len > tx_buffer_.size() - total) return SendResult::kDropped;
    std::memcpy(tx_buffer_.data() + total, base, len);
    total += len;
  }
  if (total < kEthHeaderSize || total > static_cast<size_t>(INT_MAX)) return SendResult::kDropped;
  slirp().input(slirp_, tx_buffer_.data(), static_cast<int>(total));
  kick();  // slirp may have opened sockets to watch
  return SendResult::kSent;
}

Result<size_t> SlirpBackend::receive(std::span<const iovec> iov) {
  if (backlog_.empty()) return size_t{0};
  std::vector<uint8_t> frame = std::move(backlog_.front());
  backlog_.pop_front();
  if (backlog_.empty()) rx_ready_.consume();
  // A header with no offloads, then the frame, as far as the buffers go.
  uint8_t header[kVnetHeaderSize] = {};
  size_t total = kVnetHeaderSize + frame.size();
  size_t at = 0;
  for (const iovec& v : iov) {
    auto* out = static_cast<uint8_t*>(v.iov_base);
    size_t room = v.iov_len;
    size_t done = 0;
    while (done < room && at < total) {
      size_t n;
      if (at < kVnetHeaderSize) {
        n = std::min(room - done, kVnetHeaderSize - at);
        std::memcpy(out + done, header + at, n);
      } else {
        n = std::min(room - done, total - at);
        std::memcpy(out + done, frame.data() + (at - kVnetHeaderSize), n);
      }
      done += n;
      at += n;
    }
    if (at == total) break;
  }
  if (spare_.size() < 64) spare_.push_back(std::move(frame));
  return at;  // cut to the buffers, as the tap does
}

void SlirpBackend::run_timers() {
  int64_t now_ms = now_ns() / 1000000;
  std::vector<std::pair<SlirpTimerId, void*>> due;
  for (auto& t : timers_) {
    if (t->expire_ms >= 0 && t->expire_ms <= now_ms) {
      t->expire_ms = -1;
      due.emplace_back(t->id, t->cb_opaque);
    }
  }
  for (auto& [id, opaque] : due) slirp().handle_timer(slirp_, id, opaque);
}

void SlirpBackend::service() {
  wake_.consume();
  kicked_ = false;
  uint64_t expirations = 0;
  (void)!::read(timer_.get(), &expirations, sizeof(expirations));
  int ready = 0;
  if (!pollfds_.empty()) {
    for (pollfd& p : pollfds_) p.revents = 0;
    ready = ::poll(pollfds_.data(), pollfds_.size(), 0);
  }
  slirp().pollfds_poll(slirp_, ready < 0 ? 1 : 0, SlirpCallbacks::get_revents, this);
  run_timers();
  refill();
}

void SlirpBackend::refill() {
  pollfds_.clear();
  uint32_t timeout_ms = UINT32_MAX;
  slirp().pollfds_fill(slirp_, &timeout_ms, SlirpCallbacks::add_poll, this);

  // Watch exactly the fds slirp asked for. MOD first: an fd slirp closed and reopened under the
  // same number has left the epoll set and must be added again.
  std::unordered_map<int, uint32_t> wanted;
  for (const pollfd& p : pollfds_) {
    uint32_t ev = 0;
    if (p.events & POLLIN) ev |= EPOLLIN;
    if (p.events & POLLOUT) ev |= EPOLLOUT;
    if (p.events & POLLPRI) ev |= EPOLLPRI;
    wanted[p.fd] |= ev;
  }
  for (auto& [fd, ev] : wanted) {
    epoll_event e{};
    e.events = ev;
    e.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &e) < 0 &&
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &e) < 0) {
      LOG_WARN("user network: cannot watch socket {}: {}", fd, std::strerror(errno));
    }
  }
  for (auto& [fd, ev] : watched_) {
    if (!wanted.count(fd)) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  }
  watched_ = std::move(wanted);

  // The next deadline: slirp's own (TCP timers) or one of its timers.
  int64_t now_ms = now_ns() / 1000000;
  int64_t deadline = timeout_ms == UINT32_MAX ? -1 : now_ms + timeout_ms;
  for (const auto& t : timers_) {
    if (t->expire_ms >= 0 && (deadline < 0 || t->expire_ms < deadline)) deadline = t->expire_ms;
  }
  itimerspec spec{};
  if (deadline >= 0) {
    int64_t ns = std::max<int64_t>(deadline * 1000000, 1);
    spec.it_value.tv_sec = ns / 1000000000;
    spec.it_value.tv_nsec = ns % 1000000000;
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
  }
  ::timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

}  // namespace vmkit
