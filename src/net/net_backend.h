// The host side of a network card: where the guest's frames go and where the frames for the
// guest come from. A backend has one or more queues (one per virtio-net queue pair); each queue
// is used by one thread at a time (the device's I/O thread for that pair).
//
// Frames travel with the 12-byte virtio-net header in front (the layout of struct
// virtio_net_hdr_v1, which is also the tap's vnet header): on send() it tells the backend about
// checksum and segmentation offloads the guest asked for; on receive() the backend fills it for
// the guest (num_buffers excepted: the device sets it).
//
// Readiness is fd-based so the device's epoll loop drives everything (no busy polling):
// rx_fd() readable means receive() may return a frame; after send() said kWouldBlock, tx_fd()
// writable means it may succeed again; service_fd() readable means the backend needs service()
// called (user-mode networking's sockets and timers), which may make frames ready to receive.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/result.h"

namespace vmkit {

// struct virtio_net_hdr_v1 (virtio 1.2, 5.1.6), little-endian.
struct VnetHeader {
  static constexpr uint8_t kFlagNeedsCsum = 1;
  static constexpr uint8_t kFlagDataValid = 2;
  static constexpr uint8_t kFlagRscInfo = 4;
  static constexpr uint8_t kGsoNone = 0;
  static constexpr uint8_t kGsoTcpV4 = 1;
  static constexpr uint8_t kGsoUdp = 3;
  static constexpr uint8_t kGsoTcpV6 = 4;
  static constexpr uint8_t kGsoUdpL4 = 5;
  static constexpr uint8_t kGsoEcn = 0x80;

  uint8_t flags = 0;
  uint8_t gso_type = 0;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
  uint16_t num_buffers = 0;
};
static_assert(sizeof(VnetHeader) == 12);
inline constexpr size_t kVnetHeaderSize = sizeof(VnetHeader);
inline constexpr size_t kVnetNumBuffersOffset = 10;

// Ethernet.
inline constexpr size_t kEthHeaderSize = 14;
// The largest frame a queue moves, header excluded: a 64 KiB GSO packet plus Ethernet and VLAN
// headers.
inline constexpr size_t kMaxFrameSize = 65536 + kEthHeaderSize + 4;

// Offloads, in either direction.
struct NetOffloads {
  bool csum = false;  // partial checksums (NEEDS_CSUM); the others need it
  bool tso4 = false;
  bool tso6 = false;
  bool tso_ecn = false;  // TSO with the ECN (CWR) bit
  friend bool operator==(const NetOffloads&, const NetOffloads&) = default;
};

enum class SendResult {
  kSent,
  kWouldBlock,  // try again when tx_fd() is writable; the frame was not taken
  kDropped,     // the backend refused this frame (counted by the device); go on
};

class NetQueue {
 public:
  virtual ~NetQueue() = default;

  // Sends one frame: a VnetHeader followed by the Ethernet frame, gathered from `iov` (which
  // may point into guest memory). The device has validated the header against tx_offloads().
  virtual Result<SendResult> send(std::span<const iovec> iov) = 0;
  // Receives one frame (VnetHeader first) into `iov`. Returns 0 when no frame is pending,
  // otherwise the bytes written: a frame longer than the buffers is cut to them and its rest is
  // gone (the tap's behaviour), so a result equal to the buffers' total may be a cut frame.
  // Callers that must not see cut frames give room for kVnetHeaderSize + kMaxFrameSize.
  virtual Result<size_t> receive(std::span<const iovec> iov) = 0;

  virtual int rx_fd() const = 0;
  // -1: send() never returns kWouldBlock.
  virtual int tx_fd() const = 0;
  virtual int service_fd() const { return -1; }
  virtual void service() {}

  // Whether the guest uses this queue (VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET). A disabled queue gets
  // no frames and its fds must not be polled.
  virtual Status set_enabled(bool /*enabled*/) { return {}; }
  // Frames the backend itself dropped (e.g. a full backlog), for the device's statistics.
  virtual uint64_t dropped() const { return 0; }
};

class NetBackend {
 public:
  virtual ~NetBackend() = default;

  // "tap tap0", "user": for messages.
  virtual std::string describe() const = 0;
  virtual size_t num_queues() const = 0;
  virtual NetQueue& queue(size_t index) = 0;

  // What send() accepts in the header (the HOST_* features the device may offer).
  virtual NetOffloads tx_offloads() const = 0;
  // What receive() can produce when asked (the GUEST_* features the device may offer).
  virtual NetOffloads rx_offloads_supported() const = 0;
  // From now on receive() produces at most these (a subset of rx_offloads_supported()).
  virtual Status set_rx_offloads(const NetOffloads& offloads) = 0;
};

}  // namespace vmkit
