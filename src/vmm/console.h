// The host side of the serial console: where guest output goes and typed input comes from.
// Backends: stdio (raw terminal, restored on every exit path; escape Ctrl-A x quits), a pty,
// a file (output only), a unix socket server (one client at a time, recent output replayed,
// output queued while the client catches up).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "base/event_loop.h"
#include "base/result.h"
#include "vmm/config.h"

namespace vmkit {

class Console {
 public:
  using InputHandler = std::function<void(std::span<const uint8_t>)>;

  virtual ~Console() = default;
  static Result<std::unique_ptr<Console>> create(const ConsoleSpec& spec);

  // Starts reading input on `loop`'s thread. `on_input` gets bytes for the guest; `on_quit` is
  // called when the user asks to quit (stdio escape).
  virtual Status attach(EventLoop& loop, InputHandler on_input, std::function<void()> on_quit) = 0;
  // Stops polling input (the guest's FIFO is full) or resumes it.
  virtual void set_input_enabled(bool enabled) = 0;
  // Guest output; called from vCPU threads. Never blocks for long: a pty whose reader does not
  // keep up loses output; a unix socket client's output waits for it (up to 1 MiB).
  virtual void write(std::span<const uint8_t> data) = 0;
};

// The escape sequence state machine of the stdio console: Ctrl-A x quits, Ctrl-A Ctrl-A sends
// one Ctrl-A, Ctrl-A h prints help. Other bytes pass through.
class EscapeFilter {
 public:
  static constexpr uint8_t kEscape = 0x01;  // Ctrl-A
  struct Output {
    std::string to_guest;
    bool quit = false;
    bool help = false;
  };
  Output feed(std::span<const uint8_t> bytes);

 private:
  bool escape_pending_ = false;
};

}  // namespace vmkit
