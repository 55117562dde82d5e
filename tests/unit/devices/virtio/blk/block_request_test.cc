#include "devices/virtio/blk/block_request.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "devices/virtio/blk/block_spec.h"
#include "fake_driver.h"
#include "virtio/virtio_spec.h"

namespace vmkit {
namespace {

using Kind = BlockRequest::Kind;

std::vector<uint8_t> header(uint32_t type, uint64_t sector) {
  blk::RequestHeader h{type, 0, sector};
  std::vector<uint8_t> out(sizeof(h));
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

std::vector<uint8_t> segment(uint64_t sector, uint32_t sectors, uint32_t flags) {
  blk::DiscardSegment s{sector, sectors, flags};
  std::vector<uint8_t> out(sizeof(s));
  std::memcpy(out.data(), &s, sizeof(s));
  return out;
}

std::vector<uint8_t> concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Fixture {
  Fixture()
      : mem(GuestMemory::create({{GuestAddress(0), 0x100000}}).value()),
        driver(mem, 64, GuestAddress(0x1000), GuestAddress(0x10000), 0x80000),
        queue(VirtQueue::create(mem, driver.layout(), 64,
                                virtio::kFeatureVersion1 | virtio::kFeatureIndirectDesc)
                  .value()) {
    limits.capacity_sectors = 2048;  // 1 MiB disk
    limits.discard = limits.write_zeroes = true;
    limits.max_discard_sectors = limits.max_write_zeroes_sectors = 1024;
  }
  // Pops the chain the builder published and parses it.
  Result<BlockRequest> parse() {
    EXPECT_TRUE(queue.pop(chain).value());
    return BlockRequest::parse(chain, mem, limits);
  }
  BlockRequest parse_ok() {
    auto r = parse();
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
    return r.ok() ? std::move(r).value() : BlockRequest{};
  }

  GuestMemory mem;
  testing::FakeQueueDriver driver;
  VirtQueue queue;
  DescriptorChain chain;
  BlockLimits limits;
};

TEST(BlockRequest, Read) {
  Fixture f;
  GuestAddress data, status;
  f.driver.chain()
      .readable(header(blk::kTypeIn, 7))
      .writable(1024, &data)
      .writable(1, &status)
      .publish();
  BlockRequest r = f.parse_ok();
  EXPECT_EQ(r.kind, Kind::kRead);
  EXPECT_EQ(r.status, blk::kStatusOk);
  EXPECT_EQ(r.offset, 7u * 512);
  EXPECT_EQ(r.length, 1024u);
  EXPECT_EQ(r.used_len, 1025u);
  EXPECT_EQ(r.status_addr, status);
  ASSERT_EQ(r.iov.size(), 1u);
  EXPECT_EQ(r.iov[0].iov_len, 1024u);
  EXPECT_EQ(r.iov[0].iov_base, f.mem.span(data, 1).value().data());
}

TEST(BlockRequest, DataAndStatusShareADescriptor) {
  Fixture f;
  GuestAddress buf;
  f.driver.chain().readable(header(blk::kTypeIn, 0)).writable(513, &buf).publish();
  BlockRequest r = f.parse_ok();
  EXPECT_EQ(r.length, 512u);
  EXPECT_EQ(r.status_addr, GuestAddress(buf.value() + 512));
}

TEST(BlockRequest, HeaderSplitAcrossDescriptors) {
  Fixture f;
  auto h = header(blk::kTypeIn, 3);
  f.driver.chain()
      .readable(std::span(h).first(5))
      .readable(std::span(h).subspan(5))
      .writable(512)
      .writable(1)
      .publish();
  BlockRequest r = f.parse_ok();
  EXPECT_EQ(r.kind, Kind::kRead);
  EXPECT_EQ(r.sector, 3u);
}

TEST(BlockRequest, Write) {
  Fixture f;
  std::vector<uint8_t> payload(4096, 0xab);
  f.driver.chain().readable(header(blk::kTypeOut, 8)).readable(payload).writable(1).publish();
  BlockRequest r = f.parse_ok();
  EXPECT_EQ(r.kind, Kind::kWrite);
  EXPECT_EQ(r.offset, 4096u);
  EXPECT_EQ(r.length, 4096u);
  EXPECT_EQ(r.used_len, 1u);
  ASSERT_EQ(r.iov.size(), 1u);
  EXPECT_EQ(static_cast<uint8_t*>(r.iov[0].iov_base)[4095], 0xab);
}

TEST(BlockRequest, WriteWithHeaderAndDataInOneDescriptor) {
  Fixture f;
  auto bytes = concat(header(blk::kTypeOut, 0), std::vector<uint8_t>(512, 0x11));
  f.driver.chain().readable(bytes).writable(1).publish();
  BlockRequest r = f.parse_ok();
  ASSERT_EQ(r.iov.size(), 1u);
  EXPECT_EQ(r.iov[0].iov_len, 512u);
  EXPECT_EQ(static_cast<uint8_t*>(r.iov[0].iov_base)[0], 0x11);
}

TEST(BlockRequest, IndirectRequest) {
  Fixture f;
  f.driver.chain()
      .indirect()
      .readable(header(blk::kTypeIn, 1))
      .writable(512)
      .writable(512)
      .writable(1)
      .publish();
  BlockRequest r = f.parse_ok();
  EXPECT_EQ(r.length, 1024u);
  EXPECT_EQ(r.iov.size(), 2u);
}

TEST(BlockRequest, RangeChecks) {
  Fixture f;
  f.driver.chain().readable(header(blk::kTypeIn, 2047)).writable(512).writable(1).publish();
  EXPECT_EQ(f.parse_ok().status, blk::kStatusOk);  // the last sector
  f.driver.chain().readable(header(blk::kTypeIn, 2047)).writable(1024).writable(1).publish();
  EXPECT_EQ(f.parse_ok().status, blk::kStatusIoErr);  // one past the end
  f.driver.chain()
      .readable(header(blk::kTypeIn, std::numeric_limits<uint64_t>::max()))
      .writable(512)
      .writable(1)
      .publish();
  EXPECT_EQ(f.parse_ok().status, blk::kStatusIoErr);  // sector + count overflows
  f.driver.chain()
      .readable(header(blk::kTypeOut, std::numeric_limits<uint64_t>::max() >> 9))
      .readable(std::vector<uint8_t>(512))
      .writable(1)
      .publish();
  EXPECT_EQ(f.parse_ok().status, blk::kStatusIoErr);
  f.driver.chain().readable(header(blk::kTypeIn, 0)).writable(100).writable(1).publish();
  EXPECT_EQ(f.parse_ok().status, blk::kStatusIoErr);  // not a multiple of 512
  f.driver.chain().readable(header(blk::kTypeIn, 2048)).writable(1).publish();
  BlockRequest empty = f.parse_ok();  // zero-length read at the end: harmless
  EXPECT_EQ(empty.status, blk::kStatusOk);
  EXPECT_EQ(empty.length, 0u);
}

TEST(BlockRequest, ReadOnlyRefusesWrites) {
  Fixture f;
  f.limits.read_only = true;
  f.driver.chain()
      .readable(header(blk::kTypeOut, 0))
      .readable(std::vector<uint8_t>(512))
      .writable(1)
      .publish();
  BlockRequest r = f.parse_ok();
  EXPECT_EQ(r.status, blk::kStatusIoErr);
  EXPECT_TRUE(r.iov.empty());
  f.driver.chain().readable(header(blk::kTypeIn, 0)).writable(512).writable(1).publish();
  EXPECT_EQ(f.parse_ok().status, blk::kStatusOk);
  f.driver.chain()
      .readable(concat(header(blk::kTypeWriteZeroes, 0), segment(0, 8, 0)))
      .writable(1)
      .publish();
  EXPECT_EQ(f.parse_ok().status, blk::kStatusIoErr);
}

TEST(BlockRequest, ShortHeader) {
  Fixture f;
  f.driver.chain().readable(std::vector<uint8_t>(8)).writable(1).publish();
  BlockRequest r = f.parse_ok();
  EXPECT_EQ(r.kind, Kind::kInvalid);
  EXPECT_EQ(r.status, blk::kStatusIoErr);
}

TEST(BlockRequest, HeaderInAWritableBuffer) {
  Fixture f;
  f.driver.chain().writable(16).writable(512).writable(1).publish();
  EXPECT_EQ(f.parse_ok().status, blk::kStatusIoErr);
}

TEST(BlockRequest, DataInTheWrongDirection) {
  Fixture f;
  // A write whose data is device-writable.
  f.driver.chain().readable(header(blk::kTypeOut, 0)).writable(512).writable(1).publish();
  EXPECT_EQ(f.parse_ok().status, blk::kStatusIoErr);
  // A read whose data is device-readable.
  f.driver.chain()
      .readable(header(blk::kTypeIn, 0))
      .readable(std::vector<uint8_t>(512))
      .writable(1)
      .publish();
  EXPECT_EQ(f.parse_ok().status, blk::kStatusIoErr);
}

TEST(BlockRequest, NoStatusByteIsAnError) {
  Fixture f;
  f.driver.chain().readable(header(blk::kTypeFlush, 0)).publish();
  EXPECT_FALSE(f.parse().ok());
}

TEST(BlockRequest, Flush) {
  Fixture f;
  f.driver.chain().readable(header(blk::kTypeFlush, 0)).writable(1).publish();
  BlockRequest r = f.parse_ok();
  EXPECT_EQ(r.kind, Kind::kFlush);
  EXPECT_EQ(r.status, blk::kStatusOk);
}

TEST(BlockRequest, GetId) {
  Fixture f;
  f.driver.chain().readable(header(blk::kTypeGetId, 0)).writable(20).writable(1).publish();
  BlockRequest r = f.parse_ok();
  EXPECT_EQ(r.kind, Kind::kGetId);
  EXPECT_EQ(r.length, 20u);
  EXPECT_EQ(r.used_len, 21u);
  f.driver.chain().readable(header(blk::kTypeGetId, 0)).writable(11).publish();
  r = f.parse_ok();
  EXPECT_EQ(r.length, 10u);  // a short buffer gets what fits
}

TEST(BlockRequest, UnsupportedTypes) {
  Fixture f;
  for (uint32_t type :
       {blk::kTypeGetLifetime, blk::kTypeSecureErase, 2u, 3u, 5u, 16u, 99u, 0x80000000u}) {
    f.driver.chain().readable(header(type, 0)).writable(64).writable(1).publish();
    BlockRequest r = f.parse_ok();
    EXPECT_EQ(r.status, blk::kStatusUnsupp) << type;
    EXPECT_EQ(r.used_len, 1u);
  }
}

TEST(BlockRequest, Discard) {
  Fixture f;
  f.driver.chain()
      .readable(concat(header(blk::kTypeDiscard, 0), segment(16, 8, 0)))
      .writable(1)
      .publish();
  BlockRequest r = f.parse_ok();
  EXPECT_EQ(r.kind, Kind::kDiscard);
  EXPECT_EQ(r.status, blk::kStatusOk);
  EXPECT_EQ(r.offset, 16u * 512);
  EXPECT_EQ(r.length, 8u * 512);
}

TEST(BlockRequest, DiscardRefusals) {
  Fixture f;
  auto with = [&](const std::vector<uint8_t>& payload) {
    f.driver.chain().readable(concat(header(blk::kTypeDiscard, 0), payload)).writable(1).publish();
    return f.parse_ok().status;
  };
  EXPECT_EQ(with(segment(0, 8, blk::kDiscardFlagUnmap)), blk::kStatusUnsupp);      // spec: UNSUPP
  EXPECT_EQ(with(segment(0, 8, 0x4)), blk::kStatusUnsupp);                         // unknown flag
  EXPECT_EQ(with(concat(segment(0, 8, 0), segment(8, 8, 0))), blk::kStatusIoErr);  // 2 segments
  EXPECT_EQ(with(std::vector<uint8_t>(8)), blk::kStatusIoErr);  // partial segment
  EXPECT_EQ(with({}), blk::kStatusIoErr);                       // no segment
  EXPECT_EQ(with(segment(0, 1025, 0)), blk::kStatusIoErr);      // above max_discard_sectors
  EXPECT_EQ(with(segment(2040, 16, 0)), blk::kStatusIoErr);     // past the end
  EXPECT_EQ(with(segment(std::numeric_limits<uint64_t>::max() - 2, 8, 0)), blk::kStatusIoErr);
  f.limits.discard = false;  // not negotiated
  EXPECT_EQ(with(segment(0, 8, 0)), blk::kStatusUnsupp);
}

TEST(BlockRequest, WriteZeroesMayUnmap) {
  Fixture f;
  f.driver.chain()
      .readable(concat(header(blk::kTypeWriteZeroes, 0), segment(0, 8, blk::kDiscardFlagUnmap)))
      .writable(1)
      .publish();
  BlockRequest r = f.parse_ok();
  EXPECT_EQ(r.kind, Kind::kWriteZeroes);
  EXPECT_EQ(r.status, blk::kStatusOk);
  EXPECT_TRUE(r.unmap);
  f.limits.write_zeroes = false;
  f.driver.chain()
      .readable(concat(header(blk::kTypeWriteZeroes, 0), segment(0, 8, 0)))
      .writable(1)
      .publish();
  EXPECT_EQ(f.parse_ok().status, blk::kStatusUnsupp);
}

TEST(BlockRequest, ParseIntoReusesStorage) {
  Fixture f;
  f.driver.chain()
      .readable(header(blk::kTypeIn, 0))
      .writable(512)
      .writable(512)
      .writable(1)
      .publish();
  f.driver.chain().readable(header(blk::kTypeFlush, 0)).writable(1).publish();
  BlockRequest r;
  ASSERT_TRUE(f.queue.pop(f.chain).value());
  ASSERT_TRUE(BlockRequest::parse_into(f.chain, f.mem, f.limits, r).ok());
  EXPECT_EQ(r.iov.size(), 2u);
  ASSERT_TRUE(f.queue.pop(f.chain).value());
  ASSERT_TRUE(BlockRequest::parse_into(f.chain, f.mem, f.limits, r).ok());
  EXPECT_EQ(r.kind, Kind::kFlush);
  EXPECT_TRUE(r.iov.empty());  // nothing left over from the read
  EXPECT_EQ(r.length, 0u);
}

}  // namespace
}  // namespace vmkit
