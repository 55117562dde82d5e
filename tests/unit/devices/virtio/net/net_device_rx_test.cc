// virtio-net: receive (plain and mergeable buffers, frames larger than the buffers, a guest
// that gives no buffers).
#include <gtest/gtest.h>

#include <sys/ioctl.h>

#include <cstring>

#include "net_fixture.h"

namespace vmkit {
namespace {

using namespace testing;  // NOLINT
using namespace net;      // NOLINT

struct RxBuffer {
  uint16_t head;
  GuestAddress addr;
  uint32_t len;
};

std::vector<RxBuffer> post(NetFixture& f, int count, uint32_t len, uint16_t pair = 0) {
  std::vector<RxBuffer> out;
  auto& drv = f.h->driver(f.rx(pair));
  for (int i = 0; i < count; ++i) {
    GuestAddress a;
    uint16_t head = drv.chain().writable(len, &a).build();
    drv.stage(head);
    out.push_back({head, a, len});
  }
  drv.publish_staged();
  f.h->kick(f.rx(pair));
  return out;
}

TEST(NetRx, FrameIntoOneBufferWithoutMergeable) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetBase).ok());
  auto bufs = post(f, 4, 1526);
  auto frame = eth_frame(kGuestMac, 100);
  ASSERT_TRUE(f.backend->inject(0, VnetHeader{}, frame));
  ASSERT_TRUE(f.h->wait_used(f.rx(), 1));
  auto used = f.h->driver(f.rx()).pop_used().value();
  EXPECT_EQ(used.id, bufs[0].head);
  EXPECT_EQ(used.len, 12u + frame.size());
  auto bytes = f.h->driver(f.rx()).read(bufs[0].addr, used.len);
  EXPECT_EQ(header_of(bytes).num_buffers, 1);
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 12, bytes.end()), frame);
  EXPECT_GE(f.h->irq.used[f.rx()].load(), 1);
  EXPECT_EQ(f.dev->stats().rx_frames, 1u);
}

TEST(NetRx, FrameLargerThanTheBufferIsDroppedWithoutMergeable) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetBase).ok());
  auto bufs = post(f, 1, 1526);
  ASSERT_TRUE(f.backend->inject(0, VnetHeader{}, eth_frame(kGuestMac, 3000)));
  ASSERT_TRUE(f.backend->inject(0, VnetHeader{}, eth_frame(kGuestMac, 50, 7)));
  ASSERT_TRUE(f.h->wait_used(f.rx(), 1));
  auto used = f.h->driver(f.rx()).pop_used().value();
  EXPECT_EQ(used.len, 12u + 14 + 50);  // the same buffer carries the next frame
  auto bytes = f.h->driver(f.rx()).read(bufs[0].addr, used.len);
  EXPECT_EQ(bytes[12 + 14], 7);
  EXPECT_EQ(f.dev->stats().rx_dropped, 1u);
}

TEST(NetRx, MergeableFrameSpansBuffers) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg | kNetOffloads).ok());
  auto bufs = post(f, 64, 1536);
  auto frame = eth_frame(kGuestMac, 5000, 3);
  VnetHeader gso;
  gso.flags = VnetHeader::kFlagNeedsCsum;
  gso.gso_type = VnetHeader::kGsoTcpV4;
  gso.gso_size = 1448;
  ASSERT_TRUE(f.backend->inject(0, gso, frame));
  ASSERT_TRUE(f.h->wait_used(f.rx(), 4));
  std::vector<uint8_t> got;
  for (int i = 0; i < 4; ++i) {
    auto u = f.h->driver(f.rx()).pop_used().value();
    EXPECT_EQ(u.id, bufs[static_cast<size_t>(i)].head);
    auto part = f.h->driver(f.rx()).read(bufs[static_cast<size_t>(i)].addr, u.len);
    got.insert(got.end(), part.begin(), part.end());
  }
  ASSERT_EQ(got.size(), 12u + frame.size());
  VnetHeader h = header_of(got);
  EXPECT_EQ(h.num_buffers, 4);
  EXPECT_EQ(h.gso_type, VnetHeader::kGsoTcpV4);
  EXPECT_EQ(h.gso_size, 1448);
  EXPECT_EQ(std::vector<uint8_t>(got.begin() + 12, got.end()), frame);
  // Offloads the guest acked were passed to the backend.
  ASSERT_TRUE(f.backend->rx_set);
  EXPECT_TRUE(f.backend->rx_set->tso4 && f.backend->rx_set->csum);
}

TEST(NetRx, ManySmallFramesOneInterruptPerBatch) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(f.backend->inject(0, VnetHeader{}, eth_frame(kGuestMac, 64, uint8_t(i))));
  }
  post(f, 128, 1536);
  ASSERT_TRUE(f.h->wait_used(f.rx(), 100));
  EXPECT_LE(f.h->irq.used[f.rx()].load(), 3);
  for (int i = 0; i < 100; ++i) {
    auto u = f.h->driver(f.rx()).pop_used().value();
    EXPECT_EQ(u.len, 12u + 14 + 64);
  }
}

TEST(NetRx, FrameWaitsForMoreBuffersThanTheGuestGaveAtFirst) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg | kNetOffloads).ok());
  auto first = post(f, 2, 1536);
  auto frame = eth_frame(kGuestMac, 5000, 9);
  ASSERT_TRUE(f.backend->inject(0, VnetHeader{}, frame));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(f.h->driver(f.rx()).used_idx(), 0);  // held until the rest fits
  auto more = post(f, 4, 1536);
  ASSERT_TRUE(f.h->wait_used(f.rx(), 4));
  std::vector<uint8_t> got;
  std::vector<RxBuffer> all = first;
  all.insert(all.end(), more.begin(), more.end());
  for (int i = 0; i < 4; ++i) {
    auto u = f.h->driver(f.rx()).pop_used().value();
    auto part = f.h->driver(f.rx()).read(all[static_cast<size_t>(i)].addr, u.len);
    got.insert(got.end(), part.begin(), part.end());
  }
  EXPECT_EQ(header_of(got).num_buffers, 4);
  EXPECT_EQ(std::vector<uint8_t>(got.begin() + 12, got.end()), frame);
  EXPECT_EQ(f.dev->stats().rx_dropped, 0u);
}

TEST(NetRx, GuestWithoutBuffersStallsTheBackendAndLosesNothing) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());
  constexpr int kFrames = 50;
  for (int i = 0; i < kFrames; ++i) {
    ASSERT_TRUE(f.backend->inject(0, VnetHeader{}, eth_frame(kGuestMac, 200, uint8_t(i))));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Nothing was read from the backend (the frames wait in the host's socket, not in vmkit).
  int pending = 0;
  ASSERT_EQ(::ioctl(f.backend->q(0).dev.get(), FIONREAD, &pending), 0);
  EXPECT_GT(pending, 0);
  EXPECT_EQ(f.dev->stats().rx_frames, 0u);
  EXPECT_GE(f.dev->stats().rx_stalls, 1u);
  post(f, kFrames, 1536);
  ASSERT_TRUE(f.h->wait_used(f.rx(), kFrames));
  EXPECT_EQ(f.dev->stats().rx_dropped, 0u);
  EXPECT_EQ(f.dev->stats().rx_frames, static_cast<uint64_t>(kFrames));
}

TEST(NetRx, HostileReceiveChains) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());
  auto& drv = f.h->driver(f.rx());
  std::vector<uint8_t> junk(32, 1);
  drv.chain().readable(junk).publish();  // nothing writable: returned empty
  // Tiny buffers: the header itself spans chains.
  std::vector<RxBuffer> tiny;
  for (int i = 0; i < 40; ++i) {
    GuestAddress a;
    uint16_t head = drv.chain().writable(7, &a).publish();
    tiny.push_back({head, a, 7});
  }
  f.h->kick(f.rx());
  ASSERT_TRUE(f.h->wait_used(f.rx(), 1));
  EXPECT_EQ(f.h->driver(f.rx()).pop_used()->len, 0u);
  auto frame = eth_frame(kGuestMac, 100);  // 126 bytes with its header: 18 chains
  ASSERT_TRUE(f.backend->inject(0, VnetHeader{}, frame));
  ASSERT_TRUE(f.h->wait_used(f.rx(), 19));
  std::vector<uint8_t> got;
  for (int i = 0; i < 18; ++i) {
    auto u = f.h->driver(f.rx()).pop_used().value();
    auto part = f.h->driver(f.rx()).read(tiny[static_cast<size_t>(i)].addr, u.len);
    got.insert(got.end(), part.begin(), part.end());
  }
  EXPECT_EQ(header_of(got).num_buffers, 18);
  EXPECT_EQ(std::vector<uint8_t>(got.begin() + 12, got.end()), frame);
  EXPECT_EQ(f.h->irq.device_errors.load(), 0);
}

TEST(NetRx, FrameLargerThanEveryBufferAndScratchIsDropped) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg).ok());
  post(f, 8, 1536);
  // 70000 bytes: more than 64 KiB + headers; the socket delivers it truncated.
  ASSERT_TRUE(f.backend->inject(0, VnetHeader{}, eth_frame(kGuestMac, 69000)));
  ASSERT_TRUE(f.backend->inject(0, VnetHeader{}, eth_frame(kGuestMac, 60)));
  ASSERT_TRUE(f.h->wait_used(f.rx(), 1));
  EXPECT_EQ(f.h->driver(f.rx()).pop_used()->len, 12u + 74);
  EXPECT_EQ(f.dev->stats().rx_dropped, 1u);
}

TEST(NetRx, FrameLargerThanTheWholeQueueIsDroppedAndTheQueueGoesOn) {
  NetFixture f;
  ASSERT_TRUE(f.h->activate(kNetMrg | kNetOffloads).ok());
  uint16_t size = f.h->driver(f.rx()).size();
  // Every descriptor as a 64-byte buffer: less room than the frame, and no more can come.
  auto bufs = post(f, size, 64);
  ASSERT_LT(size_t{size} * 64, 12u + 20000);
  ASSERT_TRUE(f.backend->inject(0, VnetHeader{}, eth_frame(kGuestMac, 20000)));
  ASSERT_TRUE(f.backend->inject(0, VnetHeader{}, eth_frame(kGuestMac, 30, 5)));
  ASSERT_TRUE(f.h->wait_used(f.rx(), 1));
  auto used = f.h->driver(f.rx()).pop_used().value();
  EXPECT_EQ(used.id, bufs[0].head);
  EXPECT_EQ(used.len, 12u + 14 + 30);
  auto bytes = f.h->driver(f.rx()).read(bufs[0].addr, used.len);
  EXPECT_EQ(header_of(bytes).num_buffers, 1);
  EXPECT_EQ(bytes[12 + 14], 5);
  EXPECT_EQ(f.dev->stats().rx_dropped, 1u);
  EXPECT_EQ(f.h->irq.device_errors.load(), 0);
}

}  // namespace
}  // namespace vmkit
