// An 8250/16550A UART as on COM1: enough of the register set for Linux's 8250 driver, with
// receive and transmit-empty interrupts. Transmit is instant (bytes go to the sink at once);
// received bytes come from the console through receive() into a FIFO.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>

#include "bus/bus.h"
#include "bus/irq_line.h"

namespace vmkit {

class Serial : public BusDevice {
 public:
  using Sink = std::function<void(std::span<const uint8_t>)>;
  static constexpr size_t kFifoCapacity = 4096;

  // `sink` receives transmitted bytes; `irq` is the UART's interrupt line; `on_rx_space` is called
  // (from a vCPU thread) when the receive FIFO drains below half after having been full.
  Serial(Sink sink, std::shared_ptr<IrqLine> irq, std::function<void()> on_rx_space = {});

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Queues bytes typed by the user; returns how many fit (the caller retries the rest later).
  size_t receive(std::span<const uint8_t> bytes);

 private:
  uint8_t read_register(uint64_t offset);
  void write_register(uint64_t offset, uint8_t value);
  void update_irq();  // with mutex_ held

  Sink sink_;
  std::shared_ptr<IrqLine> irq_;
  std::function<void()> on_rx_space_;

  std::mutex mutex_;  // guards everything below
  std::deque<uint8_t> rx_;
  bool rx_was_full_ = false;
  bool thr_empty_pending_ = false;  // THR-empty interrupt armed (cleared by reading IIR)
  bool irq_level_ = false;
  uint8_t ier_ = 0;
  uint8_t lcr_ = 0x03;
  uint8_t mcr_ = 0x08;
  uint8_t fcr_ = 0;
  uint8_t scr_ = 0;
  uint8_t dll_ = 0x0c;  // 9600 baud
  uint8_t dlm_ = 0;
};

}  // namespace vmkit
