// Registration of "a guest write to this MMIO address signals this eventfd" with the platform
// (KVM_IOEVENTFD), so that a queue notification wakes the device thread without a round trip
// through a vCPU thread. Devices register when their BAR is mapped and unregister when it moves.
// When registration fails or no registrar is given, the write reaches the device through the
// MMIO bus and the device signals the same eventfd itself: same behaviour, only slower.
#pragma once

#include <cstdint>

#include "base/event_fd.h"
#include "base/result.h"

namespace vmkit {

class IoEventRegistrar {
 public:
  virtual ~IoEventRegistrar() = default;
  // A write of any width (1, 2 or 4 bytes) at guest-physical `address` signals `event`; the
  // value written is not matched.
  virtual Status register_ioevent(uint64_t address, const EventFd& event) = 0;
  virtual void unregister_ioevent(uint64_t address, const EventFd& event) = 0;
};

}  // namespace vmkit
