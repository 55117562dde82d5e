#include "devices/legacy/serial.h"

#include <gtest/gtest.h>

#include <string>

#include "fake_irq.h"

namespace vmkit {
namespace {

struct SerialFixture : ::testing::Test {
  SerialFixture()
      : irq(std::make_shared<FakeIrqLine>()),
        serial([this](std::span<const uint8_t> b) { out.append(b.begin(), b.end()); }, irq,
               [this] { rx_space_calls++; }) {}
  uint8_t rd(uint64_t off) {
    uint8_t v = 0;
    serial.read(off, std::span(&v, 1));
    return v;
  }
  void wr(uint64_t off, uint8_t v) { serial.write(off, std::span<const uint8_t>(&v, 1)); }

  std::string out;
  int rx_space_calls = 0;
  std::shared_ptr<FakeIrqLine> irq;
  Serial serial;
};

TEST_F(SerialFixture, TransmitGoesToSink) {
  for (char c : std::string("hi\n")) wr(0, static_cast<uint8_t>(c));
  EXPECT_EQ(out, "hi\n");
  EXPECT_EQ(rd(5) & 0x60, 0x60);  // THRE and TEMT: always ready
}

TEST_F(SerialFixture, DivisorLatch) {
  wr(3, 0x80);  // DLAB
  wr(0, 0x01);
  wr(1, 0x00);
  EXPECT_EQ(rd(0), 0x01);
  wr(3, 0x03);
  wr(0, 'x');  // now THR again
  EXPECT_EQ(out, "x");
}

TEST_F(SerialFixture, ReceiveRaisesInterruptAndDrains) {
  wr(1, 0x01);  // IER: RX available
  const uint8_t in[] = {'a', 'b'};
  EXPECT_EQ(serial.receive(in), 2u);
  EXPECT_TRUE(irq->level);
  EXPECT_EQ(rd(2) & 0x0f, 0x04);  // IIR: RX data
  EXPECT_EQ(rd(5) & 1, 1);        // LSR: data ready
  EXPECT_EQ(rd(0), 'a');
  EXPECT_EQ(rd(0), 'b');
  EXPECT_FALSE(irq->level);
  EXPECT_EQ(rd(2) & 0x0f, 0x01);  // no interrupt pending
  EXPECT_EQ(rd(5) & 1, 0);
}

TEST_F(SerialFixture, ThrEmptyInterruptEdges) {
  wr(1, 0x02);  // enabling ETBEI with an empty THR raises it
  EXPECT_TRUE(irq->level);
  EXPECT_EQ(rd(2) & 0x0f, 0x02);  // reading IIR acknowledges
  EXPECT_FALSE(irq->level);
  wr(0, 'z');  // a write empties at once: raised again (a new edge)
  EXPECT_TRUE(irq->level);
  EXPECT_EQ(irq->changes, (std::vector<bool>{true, false, true}));
}

TEST_F(SerialFixture, FifoFullBackpressure) {
  std::vector<uint8_t> lots(Serial::kFifoCapacity + 10, 'q');
  EXPECT_EQ(serial.receive(lots), Serial::kFifoCapacity);
  for (size_t i = 0; i < Serial::kFifoCapacity / 2 + 1; ++i) rd(0);
  EXPECT_EQ(rx_space_calls, 1);
}

TEST_F(SerialFixture, LoopbackAndScratch) {
  wr(7, 0x5a);
  EXPECT_EQ(rd(7), 0x5a);
  wr(4, 0x10 | 0x0b);  // loop, OUT2, RTS, DTR
  wr(0, 'L');
  EXPECT_EQ(out, "");
  EXPECT_EQ(rd(0), 'L');
  EXPECT_EQ(rd(6) & 0xf0, 0xb0);  // DCD, DSR, CTS from OUT2, DTR, RTS
  wr(1, 0x0f);
  EXPECT_EQ(rd(1), 0x0f);
}

}  // namespace
}  // namespace vmkit
