#include "devices/virtio/net/net_device.h"

#include <fmt/format.h>
#include <sys/epoll.h>

#include <cstring>

#include "base/checked.h"
#include "base/log.h"
#include "virtio/virtio_spec.h"

namespace vmkit {

using namespace net;  // NOLINT: the device's own constants

namespace {

void add_stats(NetDeviceStats& to, const QueueStats& s) {
  to.tx_frames += s.tx_frames.load();
  to.tx_bytes += s.tx_bytes.load();
  to.tx_dropped += s.tx_dropped.load();
  to.tx_errors += s.tx_errors.load();
  to.rx_frames += s.rx_frames.load();
  to.rx_bytes += s.rx_bytes.load();
  to.rx_dropped += s.rx_dropped.load();
  to.rx_filtered += s.rx_filtered.load();
  to.rx_stalls += s.rx_stalls.load();
}

bool has(uint64_t features, uint64_t bit) {
  return (features & bit) != 0;
}

}  // namespace

Result<std::unique_ptr<NetDevice>> NetDevice::create(NetDeviceParams params) {
  if (!params.backend) return Error("virtio-net: no backend");
  size_t queues = params.backend->num_queues();
  if (queues == 0 || queues > 16) {
    return Error(fmt::format("virtio-net: backend with {} queues (1 to 16 supported)", queues));
  }
  if (!is_power_of_two(params.queue_size) || params.queue_size < 64 || params.queue_size > 1024) {
    return Error(fmt::format("virtio-net: queue size {} is not a power of two in [64, 1024]",
                             params.queue_size));
  }
  if (params.mac.is_multicast() || params.mac.is_zero()) {
    return Error(
        fmt::format("virtio-net: MAC {} is not a unicast address", params.mac.to_string()));
  }
  return std::unique_ptr<NetDevice>(new NetDevice(std::move(params)));
}

NetDevice::NetDevice(NetDeviceParams params)
    : params_(std::move(params)), max_pairs_(static_cast<uint16_t>(params_.backend->num_queues())) {
  features_ = kFeatureMac | kFeatureStatus | kFeatureMrgRxbuf | kFeatureCtrlVq | kFeatureCtrlRx |
              kFeatureCtrlRxExtra | kFeatureCtrlVlan | kFeatureCtrlMacAddr;
  NetOffloads tx = params_.backend->tx_offloads();
  if (tx.csum) {
    features_ |= kFeatureCsum;
    if (tx.tso4) features_ |= kFeatureHostTso4;
    if (tx.tso6) features_ |= kFeatureHostTso6;
    if (tx.tso_ecn && (tx.tso4 || tx.tso6)) features_ |= kFeatureHostEcn;
  }
  NetOffloads rx = params_.backend->rx_offloads_supported();
  if (rx.csum) {
    features_ |= kFeatureGuestCsum | kFeatureCtrlGuestOffloads;
    if (rx.tso4) features_ |= kFeatureGuestTso4;
    if (rx.tso6) features_ |= kFeatureGuestTso6;
    if (rx.tso_ecn && (rx.tso4 || rx.tso6)) features_ |= kFeatureGuestEcn;
  }
  if (max_pairs_ > 1) features_ |= kFeatureMq;
  std::memcpy(config_.mac, params_.mac.bytes().data(), sizeof(config_.mac));
  config_.status = params_.link_up ? kStatusLinkUp : 0;
  config_.max_virtqueue_pairs = max_pairs_;
}

uint32_t NetDevice::device_type() const {
  return virtio::kDeviceNet;
}

std::vector<uint16_t> NetDevice::queue_max_sizes() const {
  std::vector<uint16_t> sizes(2u * max_pairs_, params_.queue_size);
  sizes.push_back(kCtrlQueueSize);
  return sizes;
}

bool NetDevice::accept_features(uint64_t f) {
  // Dependencies of virtio 1.2, 5.1.3.1.
  bool guest_seg =
      has(f, kFeatureGuestTso4) || has(f, kFeatureGuestTso6) || has(f, kFeatureGuestUfo);
  bool host_seg = has(f, kFeatureHostTso4) || has(f, kFeatureHostTso6) || has(f, kFeatureHostUfo);
  if (guest_seg && !has(f, kFeatureGuestCsum)) return false;
  if (has(f, kFeatureGuestEcn) && !(has(f, kFeatureGuestTso4) || has(f, kFeatureGuestTso6))) {
    return false;
  }
  if (host_seg && !has(f, kFeatureCsum)) return false;
  if (has(f, kFeatureHostEcn) && !(has(f, kFeatureHostTso4) || has(f, kFeatureHostTso6))) {
    return false;
  }
  uint64_t need_ctrl = kFeatureCtrlRx | kFeatureCtrlVlan | kFeatureGuestAnnounce | kFeatureMq |
                       kFeatureCtrlMacAddr | kFeatureCtrlRxExtra | kFeatureCtrlGuestOffloads;
  if ((f & need_ctrl) && !has(f, kFeatureCtrlVq)) return false;
  if (has(f, kFeatureCtrlRxExtra) && !has(f, kFeatureCtrlRx)) return false;
  return true;
}

void NetDevice::read_config(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(config_mutex_);
  // SAFETY: the packed config struct viewed as bytes; the transport clamps to config_size().
  std::memcpy(data.data(), reinterpret_cast<const uint8_t*>(&config_) + offset, data.size());
}

MacAddress NetDevice::mac() const {
  std::lock_guard lock(config_mutex_);
  MacAddress::Bytes b;
  std::memcpy(b.data(), config_.mac, b.size());
  return MacAddress(b);
}

void NetDevice::set_link_up(bool up) {
  std::lock_guard lock(config_mutex_);
  uint16_t status = up ? kStatusLinkUp : 0;
  if (config_.status == status) return;
  config_.status = status;
  if (interrupt_ != nullptr && has(shared_ ? shared_->features : 0, kFeatureStatus)) {
    interrupt_->signal_config_change();
  }
}

NetOffloads NetDevice::rx_offloads_for(uint64_t guest_bits) const {
  NetOffloads o;
  o.csum = has(guest_bits, kFeatureGuestCsum);
  o.tso4 = o.csum && has(guest_bits, kFeatureGuestTso4);
  o.tso6 = o.csum && has(guest_bits, kFeatureGuestTso6);
  o.tso_ecn = (o.tso4 || o.tso6) && has(guest_bits, kFeatureGuestEcn);
  return o;
}

Status NetDevice::activate(VirtioActivation activation) {
  reset();
  uint64_t f = activation.features;
  uint16_t pairs = has(f, kFeatureMq) ? max_pairs_ : 1;
  auto shared = std::make_unique<NetShared>();
  shared->memory = activation.memory;
  shared->interrupt = activation.interrupt;
  shared->features = f;
  auto filter = std::make_shared<RxFilter>();
  filter->mac = mac();
  filter->vlan_filtering = has(f, kFeatureCtrlVlan);
  shared->publish_filter(std::move(filter));

  NetBackend& backend = *params_.backend;
  NetOffloads rx = rx_offloads_for(f & kGuestOffloadBits);
  TRY(backend.set_rx_offloads(rx));
  shared->rx_gso = rx.tso4 || rx.tso6;
  for (size_t i = 0; i < backend.num_queues(); ++i) TRY(backend.queue(i).set_enabled(i == 0));

  std::vector<std::optional<ActiveQueue>> rx_queues(pairs), tx_queues(pairs);
  std::optional<ActiveQueue> ctrl;
  uint16_t ctrl_index = static_cast<uint16_t>(2 * pairs);
  for (ActiveQueue& q : activation.queues) {
    if (q.index == ctrl_index && has(f, kFeatureCtrlVq)) {
      ctrl.emplace(std::move(q));
    } else if (q.index < ctrl_index) {
      auto& slot = (q.index % 2 == 0) ? rx_queues[q.index / 2] : tx_queues[q.index / 2];
      slot.emplace(std::move(q));
    }
  }
  std::vector<std::unique_ptr<NetQueuePair>> created;
  for (uint16_t i = 0; i < pairs; ++i) {
    created.push_back(std::make_unique<NetQueuePair>(
        i, *shared, backend.queue(i), std::move(rx_queues[i]), std::move(tx_queues[i])));
  }
  {
    std::lock_guard lock(pairs_mutex_);
    shared_ = std::move(shared);
    pairs_ = std::move(created);
    ctrl_ = std::move(ctrl);
  }
  {
    std::lock_guard lock(config_mutex_);
    interrupt_ = activation.interrupt;
  }
  active_pairs_ = 1;
  for (auto& pair : pairs_) {
    Status started = pair->start_thread(pair->index() == 0);
    if (!started.ok()) {
      reset();
      return std::move(started).error().context("virtio-net");
    }
  }
  if (ctrl_) {
    Status added = pairs_[0]->loop()->add(ctrl_->notify->fd(), EPOLLIN, [this](uint32_t) {
      ctrl_->notify->consume();
      process_ctrl();
    });
    if (!added.ok()) {
      reset();
      return std::move(added).error().context("virtio-net");
    }
    (void)ctrl_->notify->signal();
  }
  return {};
}

void NetDevice::reset() {
  for (auto& pair : pairs_) pair->stop();  // also stops the control queue (pair 0's thread)
  {
    std::lock_guard lock(pairs_mutex_);
    for (auto& pair : pairs_) add_stats(retired_, pair->stats());
    pairs_.clear();
    ctrl_.reset();
    shared_.reset();
  }
  {
    std::lock_guard lock(config_mutex_);
    interrupt_ = nullptr;
    std::memcpy(config_.mac, params_.mac.bytes().data(), sizeof(config_.mac));
  }
  active_pairs_ = 1;
  (void)params_.backend->set_rx_offloads(NetOffloads{});
}

NetDeviceStats NetDevice::stats() const {
  std::lock_guard lock(pairs_mutex_);
  NetDeviceStats s = retired_;
  for (const auto& pair : pairs_) add_stats(s, pair->stats());
  for (size_t i = 0; i < params_.backend->num_queues(); ++i) {
    s.backend_dropped += params_.backend->queue(i).dropped();
  }
  s.ctrl_ok = ctrl_ok_.load();
  s.ctrl_err = ctrl_err_.load();
  return s;
}

void NetDevice::process_ctrl() {
  if (!ctrl_) return;
  const GuestMemory& mem = *shared_->memory;
  bool used = false;
  while (true) {
    auto popped = ctrl_->queue.pop(ctrl_chain_);
    if (!popped.ok()) {
      LOG_GUEST_ERROR("virtio-net control queue: {}", popped.error().message());
      shared_->interrupt->signal_device_error();
      break;
    }
    if (!*popped) {
      auto more = ctrl_->queue.enable_notification();
      if (more.ok() && *more) continue;
      break;
    }
    used = true;
    const DescriptorChain& chain = ctrl_chain_;
    uint8_t ack = kAckErr;
    if (chain.readable_bytes() > kMaxCtrlCommandBytes) {
      LOG_GUEST_ERROR("virtio-net control queue: command of {} bytes", chain.readable_bytes());
    } else {
      ctrl_bytes_.resize(chain.readable_bytes());
      if (read_buffers(mem, chain.readable(), 0, ctrl_bytes_).ok()) {
        CtrlLimits limits{shared_->features, max_pairs_};
        auto command = parse_ctrl_command(ctrl_bytes_, limits);
        if (command.ok()) {
          ack = execute(*command);
        } else {
          LOG_GUEST_ERROR("virtio-net control queue: {}", command.error().message());
        }
      }
    }
    (ack == kAckOk ? ctrl_ok_ : ctrl_err_).fetch_add(1);
    uint32_t len = 0;
    if (chain.writable_bytes() > 0 &&
        write_buffers(mem, chain.writable(), 0, std::span<const uint8_t>(&ack, 1)).ok()) {
      len = 1;
    }
    if (!ctrl_->queue.add_used(chain.head(), len).ok()) break;
  }
  if (used && ctrl_->queue.needs_interrupt()) shared_->interrupt->signal_used(ctrl_->index);
}

uint8_t NetDevice::execute(const CtrlCommand& c) {
  switch (c.cls) {
    case kCtrlRx:
    case kCtrlMac:
    case kCtrlVlan: {
      std::shared_ptr<const RxFilter> current;
      {
        std::lock_guard lock(shared_->filter_mutex);
        current = shared_->filter;
      }
      auto next = std::make_shared<RxFilter>(*current);
      apply_to_filter(c, *next);
      shared_->publish_filter(std::move(next));
      if (c.cls == kCtrlMac && c.cmd == kCtrlMacAddrSet) {
        std::lock_guard lock(config_mutex_);
        std::memcpy(config_.mac, c.mac.bytes().data(), sizeof(config_.mac));
      }
      return kAckOk;
    }
    case kCtrlMq:
      for (auto& pair : pairs_) pair->request_active(pair->index() < c.pairs);
      active_pairs_ = c.pairs;
      return kAckOk;
    case kCtrlGuestOffloads: {
      NetOffloads rx = rx_offloads_for(c.offloads);
      Status set = params_.backend->set_rx_offloads(rx);
      if (!set.ok()) {
        LOG_ERROR("virtio-net: {}", set.error().message());
        return kAckErr;
      }
      shared_->rx_gso = rx.tso4 || rx.tso6;
      return kAckOk;
    }
    default:
      return kAckErr;
  }
}

}  // namespace vmkit
