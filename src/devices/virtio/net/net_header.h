// The virtio-net header of a frame the guest transmits, checked before the frame goes to the
// backend: offloads only when negotiated, checksum position inside the frame, a segment size
// for every GSO frame, hdr_len inside the frame. A frame whose header fails is dropped and
// counted (never passed on, never fatal). A pure function: unit-tested and fuzzed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/net_backend.h"

namespace vmkit::net {

enum class TxHeaderVerdict {
  kOk,
  kFrameTooShort,      // less than an Ethernet header after the virtio-net header
  kFrameTooLong,       // more than kMaxFrameSize
  kCsumNotNegotiated,  // NEEDS_CSUM without VIRTIO_NET_F_CSUM
  kCsumOutOfFrame,     // csum_start + csum_offset + 2 past the frame
  kGsoNotNegotiated,   // a GSO type whose HOST_* feature was not negotiated
  kGsoUnknownType,     // not NONE, TCPV4, TCPV6 (ECN only with a TCP type)
  kGsoZeroSize,        // GSO with gso_size 0
  kGsoWithoutCsum,     // GSO without NEEDS_CSUM
  kHdrLenOutOfFrame,   // hdr_len past the frame
};

const char* describe(TxHeaderVerdict verdict);

// Checks `hdr` for a frame of `frame_len` bytes (header excluded) against the negotiated
// `features`. On kOk the header is also made canonical for the backend: flags other than
// NEEDS_CSUM cleared, gso_size 0 when not segmenting, hdr_len at least the checksum's end (as
// the kernel's tun does), num_buffers 0.
TxHeaderVerdict check_tx_header(VnetHeader& hdr, size_t frame_len, uint64_t features);

}  // namespace vmkit::net
