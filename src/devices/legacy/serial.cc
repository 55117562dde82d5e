#include "devices/legacy/serial.h"

namespace vmkit {
namespace {

// Register offsets.
constexpr uint64_t kData = 0, kIer = 1, kIir = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7;

constexpr uint8_t kIerRxAvailable = 0x01;
constexpr uint8_t kIerThrEmpty = 0x02;
constexpr uint8_t kIirNone = 0x01;
constexpr uint8_t kIirThrEmpty = 0x02;
constexpr uint8_t kIirRxAvailable = 0x04;
constexpr uint8_t kIirFifoEnabled = 0xc0;
constexpr uint8_t kFcrEnable = 0x01;
constexpr uint8_t kFcrClearRx = 0x02;
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kLsrIdle = 0x40;
constexpr uint8_t kMsrCtsDsrDcd = 0xb0;

}  // namespace

Serial::Serial(Sink sink, std::shared_ptr<IrqLine> irq, std::function<void()> on_rx_space)
    : sink_(std::move(sink)), irq_(std::move(irq)), on_rx_space_(std::move(on_rx_space)) {}

void Serial::read(uint64_t offset, std::span<uint8_t> data) {
  // Byte registers; wider accesses read the first register and zero the rest.
  if (data.empty()) return;
  bool notify = false;
  {
    std::lock_guard lock(mutex_);
    data[0] = read_register(offset);
    if (rx_was_full_ && rx_.size() < kFifoCapacity / 2) {
      rx_was_full_ = false;
      notify = true;
    }
    update_irq();
  }
  if (notify && on_rx_space_) on_rx_space_();
}

void Serial::write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  uint8_t value = data[0];
  bool transmit = false;
  {
    std::lock_guard lock(mutex_);
    if (offset == kData && !(lcr_ & kLcrDlab)) {
      if (mcr_ & kMcrLoop) {
        if (rx_.size() < kFifoCapacity) rx_.push_back(value);
      } else {
        transmit = true;
      }
      thr_empty_pending_ = true;  // sent at once: the holding register is empty again
    } else {
      write_register(offset, value);
    }
    update_irq();
  }
  // Outside the lock: the sink may block on a slow terminal without stalling other vCPUs'
  // access to the UART state.
  if (transmit && sink_) sink_(std::span<const uint8_t>(&value, 1));
}

uint8_t Serial::read_register(uint64_t offset) {
  switch (offset) {
    case kData:
      if (lcr_ & kLcrDlab) return dll_;
      if (rx_.empty()) return 0;
      {
        uint8_t b = rx_.front();
        rx_.pop_front();
        return b;
      }
    case kIer:
      return (lcr_ & kLcrDlab) ? dlm_ : ier_;
    case kIir: {
      uint8_t fifo = (fcr_ & kFcrEnable) ? kIirFifoEnabled : 0;
      if ((ier_ & kIerRxAvailable) && !rx_.empty()) return fifo | kIirRxAvailable;
      if ((ier_ & kIerThrEmpty) && thr_empty_pending_) {
        thr_empty_pending_ = false;  // reading IIR acknowledges THR-empty
        return fifo | kIirThrEmpty;
      }
      return fifo | kIirNone;
    }
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr:
      return static_cast<uint8_t>(kLsrThrEmpty | kLsrIdle | (rx_.empty() ? 0 : kLsrDataReady));
    case kMsr:
      if (mcr_ & kMcrLoop) {
        // Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
        return static_cast<uint8_t>(((mcr_ & 0x01) << 5) | ((mcr_ & 0x02) << 3) |
                                    ((mcr_ & 0x04) << 4) | ((mcr_ & 0x08) << 4));
      }
      return kMsrCtsDsrDcd;
    case kScr:
      return scr_;
    default:
      return 0;
  }
}

void Serial::write_register(uint64_t offset, uint8_t value) {
  switch (offset) {
    case kData:
      dll_ = value;  // DLAB set (the THR case is handled by the caller)
      break;
    case kIer:
      if (lcr_ & kLcrDlab) {
        dlm_ = value;
      } else {
        // Enabling the THR-empty interrupt while the THR is empty raises it at once.
        if ((value & kIerThrEmpty) && !(ier_ & kIerThrEmpty)) thr_empty_pending_ = true;
        ier_ = value & 0x0f;
      }
      break;
    case kIir:
      fcr_ = value;
      if (value & kFcrClearRx) rx_.clear();
      break;
    case kLcr:
      lcr_ = value;
      break;
    case kMcr:
      mcr_ = value & 0x1f;
      break;
    case kScr:
      scr_ = value;
      break;
    default:
      break;  // LSR and MSR are read-only
  }
}

void Serial::update_irq() {
  bool level =
      ((ier_ & kIerRxAvailable) && !rx_.empty()) || ((ier_ & kIerThrEmpty) && thr_empty_pending_);
  if (level != irq_level_) {
    irq_level_ = level;
    if (irq_) irq_->set_level(level);
  }
}

size_t Serial::receive(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  while (n < bytes.size() && rx_.size() < kFifoCapacity) rx_.push_back(bytes[n++]);
  if (n < bytes.size()) rx_was_full_ = true;
  update_irq();
  return n;
}

}  // namespace vmkit
