#include "devices/virtio/net/net_header.h"

#include "devices/virtio/net/net_spec.h"

namespace vmkit::net {

const char* describe(TxHeaderVerdict verdict) {
  switch (verdict) {
    case TxHeaderVerdict::kOk:
      return "ok";
    case TxHeaderVerdict::kFrameTooShort:
      return "frame shorter than an Ethernet header";
    case TxHeaderVerdict::kFrameTooLong:
      return "frame longer than 64 KiB";
    case TxHeaderVerdict::kCsumNotNegotiated:
      return "checksum offload requested without VIRTIO_NET_F_CSUM";
    case TxHeaderVerdict::kCsumOutOfFrame:
      return "checksum position outside the frame";
    case TxHeaderVerdict::kGsoNotNegotiated:
      return "segmentation offload type not negotiated";
    case TxHeaderVerdict::kGsoUnknownType:
      return "unknown segmentation offload type";
    case TxHeaderVerdict::kGsoZeroSize:
      return "segmentation offload with gso_size 0";
    case TxHeaderVerdict::kGsoWithoutCsum:
      return "segmentation offload without NEEDS_CSUM";
    case TxHeaderVerdict::kHdrLenOutOfFrame:
      return "hdr_len outside the frame";
  }
  return "?";
}

TxHeaderVerdict check_tx_header(VnetHeader& hdr, size_t frame_len, uint64_t features) {
  if (frame_len < kEthHeaderSize) return TxHeaderVerdict::kFrameTooShort;
  if (frame_len > kMaxFrameSize) return TxHeaderVerdict::kFrameTooLong;
  bool needs_csum = (hdr.flags & VnetHeader::kFlagNeedsCsum) != 0;
  uint32_t csum_end = 0;
  if (needs_csum) {
    if (!(features & kFeatureCsum)) return TxHeaderVerdict::kCsumNotNegotiated;
    csum_end = uint32_t{hdr.csum_start} + hdr.csum_offset + 2;  // at most 131072: no overflow
    if (csum_end > frame_len || csum_end > 0xffff) return TxHeaderVerdict::kCsumOutOfFrame;
  }
  uint8_t gso = hdr.gso_type & static_cast<uint8_t>(~VnetHeader::kGsoEcn);
  bool ecn = (hdr.gso_type & VnetHeader::kGsoEcn) != 0;
  switch (gso) {
    case VnetHeader::kGsoNone:
      if (ecn) return TxHeaderVerdict::kGsoUnknownType;
      hdr.gso_size = 0;
      break;
    case VnetHeader::kGsoTcpV4:
      if (!(features & kFeatureHostTso4)) return TxHeaderVerdict::kGsoNotNegotiated;
      break;
    case VnetHeader::kGsoTcpV6:
      if (!(features & kFeatureHostTso6)) return TxHeaderVerdict::kGsoNotNegotiated;
      break;
    case VnetHeader::kGsoUdp:
      if (!(features & kFeatureHostUfo)) return TxHeaderVerdict::kGsoNotNegotiated;
      break;
    case VnetHeader::kGsoUdpL4:
      if (!(features & kFeatureHostUso)) return TxHeaderVerdict::kGsoNotNegotiated;
      break;
    default:
      return TxHeaderVerdict::kGsoUnknownType;
  }
  if (gso != VnetHeader::kGsoNone) {
    if (ecn && !(features & kFeatureHostEcn)) return TxHeaderVerdict::kGsoNotNegotiated;
    if (hdr.gso_size == 0) return TxHeaderVerdict::kGsoZeroSize;
    if (!needs_csum) return TxHeaderVerdict::kGsoWithoutCsum;
  }
  if (needs_csum && hdr.hdr_len < csum_end) hdr.hdr_len = static_cast<uint16_t>(csum_end);
  if (hdr.hdr_len > frame_len) {
    if (gso != VnetHeader::kGsoNone) return TxHeaderVerdict::kHdrLenOutOfFrame;
    hdr.hdr_len = 0;  // only a hint without GSO
  }
  hdr.flags &= VnetHeader::kFlagNeedsCsum;
  hdr.num_buffers = 0;
  return TxHeaderVerdict::kOk;
}

}  // namespace vmkit::net
