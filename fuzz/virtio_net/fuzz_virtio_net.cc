// virtio-net against hostile input. Byte 0 selects the target:
//   0: the --net option parser, on the rest as text;
//   1: the transmit header check: 12 header bytes, a 4-byte frame length, 8 feature bytes;
//   2: the control queue: 8 feature bytes, 1 max-pairs byte, then one command, parsed,
//      applied to a receive filter, and the filter asked about a few frames;
//   3: the transmit path: the rest is a virtqueue memory image (../virtqueue/layout.h) whose
//      chains the real NetQueuePair pops, checks and sends to a socketpair backend;
//   4: the receive path: the same image as the receive queue, with frames of fuzzed sizes
//      waiting in the backend; byte 3 of the input selects mergeable buffers (bit 0) and
//      frame sizes (the other bits).
// The queue paths are driven by hand, without their thread.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "../virtqueue/layout.h"
#include "devices/virtio/net/net_ctrl.h"
#include "devices/virtio/net/net_header.h"
#include "devices/virtio/net/net_queue_pair.h"
#include "devices/virtio/net/net_spec.h"
#include "fake_interrupt.h"
#include "net/net_options.h"
#include "pair_backend.h"

using namespace vmkit;

namespace {

uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

void drain(testing::PairBackend& backend) {
  while (backend.take(0)) {
  }
  // Frames the device did not take.
  std::vector<uint8_t> buf(70000);
  while (::recv(backend.q(0).dev.get(), buf.data(), buf.size(), MSG_DONTWAIT) > 0) {
  }
}

int queue_path(bool rx, const uint8_t* data, size_t size) {
  if (size < fuzz::kHeaderBytes + 1) return 0;
  static testing::FakeInterrupt interrupt;
  static EventFd notify = EventFd::create().value();
  static testing::PairBackend backend(1, NetOffloads{true, true, true, true});
  uint8_t flags = data[fuzz::kHeaderBytes];
  GuestMemory& mem = fuzz::fuzz_memory();
  fuzz::load_memory(mem, data + fuzz::kHeaderBytes + 1, size - fuzz::kHeaderBytes - 1);
  uint16_t qsize = fuzz::queue_size(data[0], data[1] & 0x3f);
  auto queue = VirtQueue::create(mem, fuzz::ring_layout(qsize), 256, fuzz::ring_features(data[0]));
  if (!queue.ok()) return 0;

  net::NetShared shared;
  shared.memory = &mem;
  shared.interrupt = &interrupt;
  shared.features = (flags & 1) ? net::kFeatureMrgRxbuf : 0;
  if (flags & 2)
    shared.features |= net::kFeatureCsum | net::kFeatureHostTso4 | net::kFeatureHostTso6;
  auto filter = std::make_shared<net::RxFilter>();
  filter->promisc = (flags & 4) == 0;
  shared.publish_filter(filter);
  shared.rx_gso = (flags & 8) != 0;

  ActiveQueue active{0, std::move(queue).value(), &notify};
  std::optional<ActiveQueue> rxq, txq;
  (rx ? rxq : txq).emplace(std::move(active));
  {
    net::NetQueuePair pair(0, shared, backend.queue(0), std::move(rxq), std::move(txq));
    if (rx) {
      // Frames of sizes picked by the flags: tiny, MTU-sized, large GSO-sized.
      static const size_t kSizes[] = {14, 60, 1514, 9000, 30000, 65550};
      std::vector<uint8_t> frame;
      for (int i = 0; i < 3; ++i) {
        size_t n = kSizes[(flags >> (4 + i)) % 6];
        frame.assign(n, static_cast<uint8_t>(i));
        backend.inject(0, VnetHeader{}, frame);
      }
      pair.set_active_now(true);
      pair.process_rx();
      pair.process_rx();
    } else {
      pair.set_active_now(true);
      pair.process_tx();
    }
    pair.stop();
  }
  drain(backend);
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t* in = data + 1;
  size_t n = size - 1;
  switch (data[0]) {
    case 0: {
      auto options = parse_net_options(std::string_view(reinterpret_cast<const char*>(in), n));
      if (options.ok() && options->kind == NetBackendKind::kTap && options->ifname.empty()) {
        __builtin_trap();
      }
      return 0;
    }
    case 1: {
      if (n < 24) return 0;
      VnetHeader h;
      std::memcpy(&h, in, sizeof(h));
      uint32_t len;
      std::memcpy(&len, in + 12, 4);
      uint64_t features = load64(in + 16);
      if (net::check_tx_header(h, len, features) == net::TxHeaderVerdict::kOk) {
        // What passes must be safe for the backend.
        if (len < kEthHeaderSize || len > kMaxFrameSize || h.hdr_len > len) __builtin_trap();
        if ((h.flags & VnetHeader::kFlagNeedsCsum) &&
            uint32_t{h.csum_start} + h.csum_offset + 2 > len) {
          __builtin_trap();
        }
        if (h.gso_type != VnetHeader::kGsoNone && h.gso_size == 0) __builtin_trap();
      }
      return 0;
    }
    case 2: {
      if (n < 9) return 0;
      net::CtrlLimits limits{load64(in), static_cast<uint16_t>(in[8] % 17)};
      auto command = net::parse_ctrl_command(std::span(in + 9, n - 9), limits);
      if (!command.ok()) return 0;
      net::RxFilter filter;
      filter.vlan_filtering = true;
      net::apply_to_filter(*command, filter);
      if (filter.unicast.size() > net::RxFilter::kMacTableEntries) __builtin_trap();
      uint8_t frame[16];
      for (size_t i = 0; i + sizeof(frame) <= n; i += sizeof(frame)) {
        std::memcpy(frame, in + i, sizeof(frame));
        (void)filter.accepts(frame);
      }
      return 0;
    }
    case 3:
      return queue_path(false, in, n);
    case 4:
      return queue_path(true, in, n);
    default:
      return 0;
  }
}
