// One port of a virtio-console: a receive queue the device fills with bytes from the host
// (the guest reads them from /dev/hvc0), a transmit queue whose bytes the device writes to the
// host. The host side is a pair of file descriptors (the same fd twice for a pty master or a
// socket), borrowed from the creator. A port lives on its device's event loop thread.
//
// Flow control: host input is read only while the guest has receive buffers (otherwise the
// input fd is not watched and data waits in the host's pipe or pty); guest output that the
// host cannot take yet (EAGAIN on a non-blocking fd) stays in its chain until the fd is
// writable. A blocking input fd is read once per readiness event.
#pragma once

#include <optional>
#include <string>

#include "base/event_loop.h"
#include "base/result.h"
#include "virtio/virtio_device.h"

namespace vmkit {

struct ConsoleBackend {
  int input_fd = -1;   // host -> guest; -1: the guest never receives anything
  int output_fd = -1;  // guest -> host; -1: output is discarded
};

class ConsolePort {
 public:
  // `rx` and `tx` are the port's queues, or nullopt when the driver did not enable them.
  ConsolePort(std::string name, ConsoleBackend backend, EventLoop& loop, const GuestMemory& mem,
              VirtioInterrupt& interrupt, std::optional<ActiveQueue> rx,
              std::optional<ActiveQueue> tx);
  ~ConsolePort();
  ConsolePort(const ConsolePort&) = delete;
  ConsolePort& operator=(const ConsolePort&) = delete;

  // Registers the queues' eventfds and the host fds with the loop and looks for buffers the
  // driver made available before DRIVER_OK.
  Status start();
  // Unregisters everything (the loop's thread must be stopped or be the caller).
  void stop();

 private:
  void on_rx_notify();
  void on_tx_notify();
  void on_fd(int fd, uint32_t events);
  void pump_input();
  void pump_output();
  void update_watches();
  void watch(int fd, uint32_t events);
  void fail(const Error& error);

  std::string name_;
  ConsoleBackend backend_;
  EventLoop& loop_;
  const GuestMemory& mem_;
  VirtioInterrupt& interrupt_;
  std::optional<ActiveQueue> rx_, tx_;
  bool input_blocking_ = false;

  // Owned by the loop thread.
  DescriptorChain rx_chain_, tx_chain_;
  bool have_rx_chain_ = false;  // popped, waiting for host input
  bool have_tx_chain_ = false;  // popped, partly written to the host
  uint64_t tx_offset_ = 0;
  bool input_open_ = true;
  bool output_open_ = true;
  bool want_input_ = true;
  bool want_output_ = false;
  bool failed_ = false;
  uint32_t watched_in_ = 0, watched_out_ = 0;  // events registered per fd (0: not registered)
  std::vector<iovec> iov_;
};

}  // namespace vmkit
