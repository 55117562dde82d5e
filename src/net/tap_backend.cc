#include "net/tap_backend.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "base/log.h"

namespace vmkit {

namespace {

unsigned tun_offload_flags(const NetOffloads& o) {
  unsigned flags = 0;
  if (o.csum) {
    flags |= TUN_F_CSUM;
    if (o.tso4) flags |= TUN_F_TSO4;
    if (o.tso6) flags |= TUN_F_TSO6;
    if (o.tso_ecn && (o.tso4 || o.tso6)) flags |= TUN_F_TSO_ECN;
  }
  return flags;
}

Error tunsetiff_error(const std::string& ifname, uint16_t queues, int err) {
  switch (err) {
    case EPERM:
      return Error(fmt::format("tap '{}': permission denied (creating a tap needs CAP_NET_ADMIN; "
                               "or create it once with "
                               "`ip tuntap add dev {} mode tap{} user $USER`)",
                               ifname, ifname, queues > 1 ? " multi_queue" : ""),
                   err);
    case EBUSY:
      return Error(fmt::format("tap '{}' is in use by another process", ifname), err);
    case EINVAL:
      return Error(fmt::format("tap '{}' exists with other settings ({} needs a {} tap: `ip tuntap "
                               "add dev {} mode tap{}`), or is not a tap",
                               ifname, queues > 1 ? fmt::format("queues={}", queues) : "queues=1",
                               queues > 1 ? "multi_queue" : "single-queue", ifname,
                               queues > 1 ? " multi_queue" : ""),
                   err);
    default:
      return Error::from_errno(fmt::format("tap '{}': TUNSETIFF", ifname), err);
  }
}

}  // namespace

class TapBackend::Queue final : public NetQueue {
 public:
  Queue(UniqueFd fd, bool multi_queue) : fd_(std::move(fd)), multi_queue_(multi_queue) {}

  Result<SendResult> send(std::span<const iovec> iov) override {
    int count = static_cast<int>(std::min<size_t>(iov.size(), IOV_MAX));
    while (true) {
      ssize_t n = ::writev(fd_.get(), iov.data(), count);
      if (n >= 0) return SendResult::kSent;
      switch (errno) {
        case EINTR:
          continue;
        case EAGAIN:
          return SendResult::kWouldBlock;
        case EINVAL:  // the kernel refused the header or the frame
        case EFAULT:
        case EIO:  // interface down
        case ENOMEM:
        case ENOBUFS:
        case EBADFD:  // queue detached
        case EMSGSIZE:
          return SendResult::kDropped;
        default:
          return Error::from_errno("tap writev");
      }
    }
  }

  Result<size_t> receive(std::span<const iovec> iov) override {
    int count = static_cast<int>(std::min<size_t>(iov.size(), IOV_MAX));
    while (true) {
      // The tap returns the frame's full length even when it had to truncate it.
      ssize_t n = ::readv(fd_.get(), iov.data(), count);
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) return size_t{0};
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EBADFD) return size_t{0};
      return Error::from_errno("tap readv");
    }
  }

  int rx_fd() const override { return fd_.get(); }
  int tx_fd() const override { return fd_.get(); }

  Status set_enabled(bool enabled) override {
    if (!multi_queue_ || enabled == enabled_) return {};
    ifreq ifr{};
    ifr.ifr_flags = static_cast<short>(enabled ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE);
    if (::ioctl(fd_.get(), TUNSETQUEUE, &ifr) < 0) {
      return Error::from_errno(enabled ? "tap: attaching queue" : "tap: detaching queue");
    }
    enabled_ = enabled;
    return {};
  }

  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
  bool multi_queue_;
  bool enabled_ = true;
};

Result<std::unique_ptr<TapBackend>> TapBackend::open(const std::string& ifname, uint16_t queues) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
    return Error(
        fmt::format("tap interface name '{}' must be 1 to {} bytes", ifname, IFNAMSIZ - 1));
  }
  if (queues == 0) return Error("tap: 0 queues");
  bool multi_queue = queues > 1;
  std::vector<std::unique_ptr<Queue>> fds;
  for (uint16_t i = 0; i < queues; ++i) {
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
      return Error::from_errno("opening /dev/net/tun (is the tun module loaded? `modprobe tun`)");
    }
    if (i == 0) {
      unsigned features = 0;
      if (::ioctl(fd.get(), TUNGETFEATURES, &features) < 0) {
        return Error::from_errno("tap: TUNGETFEATURES");
      }
      if (!(features & IFF_VNET_HDR)) return Error("tap: the kernel lacks IFF_VNET_HDR");
      if (multi_queue && !(features & IFF_MULTI_QUEUE)) {
        return Error("tap: the kernel lacks IFF_MULTI_QUEUE (needed for queues > 1)");
      }
    }
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
    int flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi_queue ? IFF_MULTI_QUEUE : 0);
    ifr.ifr_flags = static_cast<short>(flags);
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) return tunsetiff_error(ifname, queues, errno);
    if (i == 0) {
      int size = static_cast<int>(kVnetHeaderSize);
      if (::ioctl(fd.get(), TUNSETVNETHDRSZ, &size) < 0) {
        return Error::from_errno("tap: TUNSETVNETHDRSZ 12");
      }
    }
    fds.push_back(std::make_unique<Queue>(std::move(fd), multi_queue));
  }
  // Which offloads the tap can hand us (it always accepts offloaded frames from us).
  NetOffloads rx{true, true, true, true};
  unsigned all = tun_offload_flags(rx);
  if (::ioctl(fds[0]->fd(), TUNSETOFFLOAD, all) < 0) {
    rx = NetOffloads{true, false, false, false};
    if (::ioctl(fds[0]->fd(), TUNSETOFFLOAD, tun_offload_flags(rx)) < 0) rx = NetOffloads{};
  }
  // Nothing until the guest asks for it.
  if (::ioctl(fds[0]->fd(), TUNSETOFFLOAD, 0u) < 0)
    return Error::from_errno("tap: TUNSETOFFLOAD 0");
  LOG_DEBUG("tap {}: {} queue(s), rx offloads csum={} tso4={} tso6={}", ifname, queues, rx.csum,
            rx.tso4, rx.tso6);
  return std::unique_ptr<TapBackend>(new TapBackend(ifname, std::move(fds), rx));
}

TapBackend::TapBackend(std::string ifname, std::vector<std::unique_ptr<Queue>> queues,
                       NetOffloads rx)
    : ifname_(std::move(ifname)), queues_(std::move(queues)), rx_supported_(rx) {}

TapBackend::~TapBackend() = default;

NetQueue& TapBackend::queue(size_t index) {
  return *queues_[index];
}

NetOffloads TapBackend::tx_offloads() const {
  // tun_get_user() accepts partial checksums and TCP GSO in the header from any kernel we run on.
  return NetOffloads{true, true, true, true};
}

Status TapBackend::set_rx_offloads(const NetOffloads& offloads) {
  unsigned flags = tun_offload_flags(offloads);
  if (::ioctl(queues_[0]->fd(), TUNSETOFFLOAD, flags) < 0) {
    return Error::from_errno(fmt::format("tap {}: TUNSETOFFLOAD {:#x}", ifname_, flags));
  }
  return {};
}

}  // namespace vmkit
