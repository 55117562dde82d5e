#include "virtio/descriptor_chain.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "base/checked.h"

namespace vmkit {
namespace {

Error out_of_chain(uint64_t offset, uint64_t len) {
  return Error(fmt::format("range {:#x}+{:#x} is beyond the descriptor chain", offset, len));
}

// Calls fn(address, chunk_offset, chunk_len) for each piece of [offset, offset + len).
template <typename Fn>
Status for_each_piece(std::span<const Descriptor> descs, uint64_t offset, uint64_t len, Fn&& fn) {
  uint64_t done = 0;
  uint64_t skip = offset;
  for (const Descriptor& d : descs) {
    if (done == len) break;
    if (skip >= d.len) {
      skip -= d.len;
      continue;
    }
    uint64_t take = std::min<uint64_t>(d.len - skip, len - done);
    TRY(fn(GuestAddress(d.addr.value() + skip), done, take));  // inside d: checked at pop
    done += take;
    skip = 0;
  }
  if (done != len) return out_of_chain(offset, len);
  return {};
}

}  // namespace

Status read_buffers(const GuestMemory& mem, std::span<const Descriptor> descs, uint64_t offset,
                    std::span<uint8_t> out) {
  return for_each_piece(descs, offset, out.size(), [&](GuestAddress a, uint64_t at, uint64_t n) {
    return mem.read(a, out.subspan(at, n));
  });
}

Status write_buffers(const GuestMemory& mem, std::span<const Descriptor> descs, uint64_t offset,
                     std::span<const uint8_t> data) {
  return for_each_piece(descs, offset, data.size(), [&](GuestAddress a, uint64_t at, uint64_t n) {
    return mem.write(a, data.subspan(at, n));
  });
}

Status buffer_iovecs(const GuestMemory& mem, std::span<const Descriptor> descs, uint64_t offset,
                     uint64_t len, std::vector<iovec>& out) {
  return for_each_piece(descs, offset, len, [&](GuestAddress a, uint64_t, uint64_t n) -> Status {
    auto bytes = TRY(mem.span(a, n));
    out.push_back(iovec{bytes.data(), bytes.size()});
    return {};
  });
}

Result<GuestAddress> buffer_address(std::span<const Descriptor> descs, uint64_t offset) {
  GuestAddress found;
  TRY(for_each_piece(descs, offset, 1, [&](GuestAddress a, uint64_t, uint64_t) -> Status {
    found = a;
    return {};
  }));
  return found;
}

}  // namespace vmkit
