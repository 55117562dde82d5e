// The virtio-pci transport and PCI configuration space under fuzzed register traffic: a
// sequence of configuration-space and BAR accesses (and device-side events) against a PciRoot
// holding one VirtioPciDevice, whose device serves its queues synchronously at activation.
// Input (after the header byte with bits 6-7 set, see layout.h):
//   byte: number of operations N; N x 8 bytes: kind, width, offset (le16), value (le32);
//   rest: guest memory image (layout.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmkit::fuzz {

void run_transport(const uint8_t* data, size_t size);

}  // namespace vmkit::fuzz
