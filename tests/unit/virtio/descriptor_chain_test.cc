#include "virtio/descriptor_chain.h"

#include <gtest/gtest.h>

#include <numeric>

namespace vmkit {
namespace {

struct Fixture {
  Fixture() : mem(GuestMemory::create({{GuestAddress(0), 0x10000}}).value()) {
    // Three buffers of 4, 0 and 6 bytes holding 0..9.
    std::vector<uint8_t> bytes(10);
    std::iota(bytes.begin(), bytes.end(), 0);
    EXPECT_TRUE(mem.write(GuestAddress(0x100), std::span(bytes).first(4)).ok());
    EXPECT_TRUE(mem.write(GuestAddress(0x200), std::span(bytes).subspan(4)).ok());
    chain.reset(5);
    chain.push({GuestAddress(0x100), 4, false});
    chain.push({GuestAddress(0x900), 0, false});
    chain.push({GuestAddress(0x200), 6, false});
  }
  GuestMemory mem;
  DescriptorChain chain;
};

TEST(DescriptorChain, ReadsAcrossBuffers) {
  Fixture f;
  std::vector<uint8_t> out(5);
  ASSERT_TRUE(read_buffers(f.mem, f.chain.readable(), 2, out).ok());
  EXPECT_EQ(out, (std::vector<uint8_t>{2, 3, 4, 5, 6}));
  EXPECT_FALSE(read_buffers(f.mem, f.chain.readable(), 6, out).ok());  // 6 + 5 > 10
  std::vector<uint8_t> none;
  EXPECT_TRUE(read_buffers(f.mem, f.chain.readable(), 10, none).ok());
}

TEST(DescriptorChain, WritesAcrossBuffers) {
  Fixture f;
  std::vector<uint8_t> data{0xa, 0xb, 0xc};
  ASSERT_TRUE(write_buffers(f.mem, f.chain.readable(), 3, data).ok());
  EXPECT_EQ(f.mem.read_obj<uint8_t>(GuestAddress(0x103)).value(), 0xa);
  EXPECT_EQ(f.mem.read_obj<uint8_t>(GuestAddress(0x200)).value(), 0xb);
  EXPECT_EQ(f.mem.read_obj<uint8_t>(GuestAddress(0x201)).value(), 0xc);
}

TEST(DescriptorChain, IovecsPointIntoGuestMemory) {
  Fixture f;
  std::vector<iovec> iov;
  ASSERT_TRUE(buffer_iovecs(f.mem, f.chain.readable(), 1, 8, iov).ok());
  ASSERT_EQ(iov.size(), 2u);
  EXPECT_EQ(iov[0].iov_len, 3u);
  EXPECT_EQ(iov[1].iov_len, 5u);
  EXPECT_EQ(static_cast<uint8_t*>(iov[0].iov_base)[0], 1);
  EXPECT_EQ(static_cast<uint8_t*>(iov[1].iov_base)[4], 8);
  EXPECT_FALSE(buffer_iovecs(f.mem, f.chain.readable(), 1, 10, iov).ok());
}

TEST(DescriptorChain, AddressOfAByte) {
  Fixture f;
  EXPECT_EQ(buffer_address(f.chain.readable(), 9).value().value(), 0x205u);
  EXPECT_EQ(buffer_address(f.chain.readable(), 4).value().value(), 0x200u);
  EXPECT_FALSE(buffer_address(f.chain.readable(), 10).ok());
}

}  // namespace
}  // namespace vmkit
