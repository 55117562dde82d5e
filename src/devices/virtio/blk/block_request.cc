#include "devices/virtio/blk/block_request.h"

#include <algorithm>
#include <limits>

#include "base/checked.h"
#include "devices/virtio/blk/block_spec.h"

namespace vmkit {
namespace {

// The largest data transfer one request may carry: the used length (data + status) must fit
// in 32 bits.
constexpr uint64_t kMaxDataBytes = std::numeric_limits<uint32_t>::max() - 1;

Status refuse(BlockRequest& r, uint8_t status) {
  r.status = status;
  r.iov.clear();
  r.used_len = 1;
  return {};
}

// True when [sector, sector + sectors) lies inside the disk.
bool in_range(uint64_t sector, uint64_t sectors, uint64_t capacity) {
  auto end = checked_add(sector, sectors);
  return end && *end <= capacity;
}

}  // namespace

Result<BlockRequest> BlockRequest::parse(const DescriptorChain& chain, const GuestMemory& mem,
                                         const BlockLimits& limits) {
  BlockRequest r;
  TRY(parse_into(chain, mem, limits, r));
  return r;
}

Status BlockRequest::parse_into(const DescriptorChain& chain, const GuestMemory& mem,
                                const BlockLimits& limits, BlockRequest& r) {
  std::vector<iovec> storage = std::move(r.iov);
  storage.clear();
  r = BlockRequest{};
  r.iov = std::move(storage);
  uint64_t writable = chain.writable_bytes();
  if (writable == 0) return Error("virtio-blk request without a device-writable status byte");
  r.status_addr = TRY(buffer_address(chain.writable(), writable - 1));
  r.status = blk::kStatusOk;

  if (chain.readable_bytes() < sizeof(blk::RequestHeader)) return refuse(r, blk::kStatusIoErr);
  blk::RequestHeader header;
  // SAFETY: a trivially copyable header viewed as bytes.
  TRY(read_buffers(mem, chain.readable(), 0,
                   std::span(reinterpret_cast<uint8_t*>(&header), sizeof(header))));
  r.type = header.type;
  r.sector = header.sector;
  uint64_t out_data = chain.readable_bytes() - sizeof(header);  // after the header
  uint64_t in_data = writable - 1;                              // before the status byte

  switch (header.type) {
    case blk::kTypeIn:
    case blk::kTypeOut: {
      bool is_read = header.type == blk::kTypeIn;
      r.kind = is_read ? Kind::kRead : Kind::kWrite;
      if (!is_read && limits.read_only) return refuse(r, blk::kStatusIoErr);
      uint64_t len = is_read ? in_data : out_data;
      // Data in the wrong direction (device-writable for a write, device-readable for a read)
      // is a malformed request.
      uint64_t wrong_way = is_read ? out_data : in_data;
      if (wrong_way != 0 || len % blk::kSectorSize != 0 || len > kMaxDataBytes ||
          !in_range(header.sector, len >> blk::kSectorShift, limits.capacity_sectors)) {
        return refuse(r, blk::kStatusIoErr);
      }
      r.offset = header.sector << blk::kSectorShift;  // < capacity * 512: no overflow
      r.length = len;
      if (is_read) {
        TRY(buffer_iovecs(mem, chain.writable(), 0, len, r.iov));
        r.used_len = static_cast<uint32_t>(len + 1);
      } else {
        TRY(buffer_iovecs(mem, chain.readable(), sizeof(header), len, r.iov));
      }
      return {};
    }
    case blk::kTypeFlush:
      r.kind = Kind::kFlush;
      return {};
    case blk::kTypeGetId: {
      r.kind = Kind::kGetId;
      r.length = std::min<uint64_t>(in_data, blk::kIdBytes);
      TRY(buffer_iovecs(mem, chain.writable(), 0, r.length, r.iov));
      r.used_len = static_cast<uint32_t>(r.length + 1);
      return {};
    }
    case blk::kTypeDiscard:
    case blk::kTypeWriteZeroes: {
      bool discard = header.type == blk::kTypeDiscard;
      r.kind = discard ? Kind::kDiscard : Kind::kWriteZeroes;
      if (!(discard ? limits.discard : limits.write_zeroes)) return refuse(r, blk::kStatusUnsupp);
      if (limits.read_only) return refuse(r, blk::kStatusIoErr);
      uint64_t segments = out_data / sizeof(blk::DiscardSegment);
      if (out_data == 0 || out_data % sizeof(blk::DiscardSegment) != 0 ||
          segments > limits.max_segments) {
        return refuse(r, blk::kStatusIoErr);
      }
      blk::DiscardSegment seg;
      // SAFETY: a trivially copyable segment viewed as bytes.
      TRY(read_buffers(mem, chain.readable(), sizeof(header),
                       std::span(reinterpret_cast<uint8_t*>(&seg), sizeof(seg))));
      bool unmap = (seg.flags & blk::kDiscardFlagUnmap) != 0;
      if ((seg.flags & ~blk::kDiscardFlagUnmap) != 0 || (discard && unmap)) {
        return refuse(r, blk::kStatusUnsupp);
      }
      uint32_t max = discard ? limits.max_discard_sectors : limits.max_write_zeroes_sectors;
      if (seg.num_sectors > max ||
          !in_range(seg.sector, seg.num_sectors, limits.capacity_sectors)) {
        return refuse(r, blk::kStatusIoErr);
      }
      r.offset = seg.sector << blk::kSectorShift;
      r.length = uint64_t{seg.num_sectors} << blk::kSectorShift;
      r.unmap = unmap;
      return {};
    }
    default:  // get-lifetime, secure erase, zoned commands, legacy SCSI, unknown
      return refuse(r, blk::kStatusUnsupp);
  }
}

}  // namespace vmkit
