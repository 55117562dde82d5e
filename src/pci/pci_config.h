// The 256-byte configuration space of one PCI function (type 0 header) with per-byte masks that
// say what the guest may write, and a capability list builder. It holds bytes only; registers
// with side effects (BARs, command, capabilities such as MSI-X) are interpreted by PciDevice.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/result.h"

namespace vmkit::pci {

inline constexpr size_t kConfigSize = 256;

// Type 0 header registers.
inline constexpr uint16_t kVendorId = 0x00;
inline constexpr uint16_t kDeviceId = 0x02;
inline constexpr uint16_t kCommand = 0x04;
inline constexpr uint16_t kStatus = 0x06;
inline constexpr uint16_t kRevisionId = 0x08;
inline constexpr uint16_t kClassCode = 0x09;  // 3 bytes: prog-if, subclass, class
inline constexpr uint16_t kCacheLineSize = 0x0c;
inline constexpr uint16_t kLatencyTimer = 0x0d;
inline constexpr uint16_t kHeaderType = 0x0e;
inline constexpr uint16_t kBar0 = 0x10;
inline constexpr uint16_t kBarEnd = 0x28;  // one past BAR5
inline constexpr uint16_t kSubsystemVendorId = 0x2c;
inline constexpr uint16_t kSubsystemId = 0x2e;
inline constexpr uint16_t kRomBar = 0x30;
inline constexpr uint16_t kCapabilityPointer = 0x34;
inline constexpr uint16_t kInterruptLine = 0x3c;
inline constexpr uint16_t kInterruptPin = 0x3d;
inline constexpr uint16_t kFirstCapability = 0x40;

// Command register bits.
inline constexpr uint16_t kCommandIo = 1u << 0;
inline constexpr uint16_t kCommandMemory = 1u << 1;
inline constexpr uint16_t kCommandBusMaster = 1u << 2;
inline constexpr uint16_t kCommandParity = 1u << 6;
inline constexpr uint16_t kCommandSerr = 1u << 8;
inline constexpr uint16_t kCommandIntxDisable = 1u << 10;
inline constexpr uint16_t kCommandWritable = kCommandIo | kCommandMemory | kCommandBusMaster |
                                             kCommandParity | kCommandSerr | kCommandIntxDisable;

// Status register bits.
inline constexpr uint16_t kStatusInterrupt = 1u << 3;
inline constexpr uint16_t kStatusCapabilities = 1u << 4;

// Capability IDs.
inline constexpr uint8_t kCapVendorSpecific = 0x09;
inline constexpr uint8_t kCapMsix = 0x11;

class ConfigSpace {
 public:
  ConfigSpace() = default;

  // Device-side accessors (little-endian, no masks).
  uint8_t read8(size_t offset) const { return bytes_[offset]; }
  uint16_t read16(size_t offset) const;
  uint32_t read32(size_t offset) const;
  void set8(size_t offset, uint8_t value) { bytes_[offset] = value; }
  void set16(size_t offset, uint16_t value);
  void set32(size_t offset, uint32_t value);

  // Marks bits of [offset, offset+len) as guest-writable (`mask` little-endian, one per byte).
  void set_writable(size_t offset, std::span<const uint8_t> mask);
  void set_writable16(size_t offset, uint16_t mask);
  void set_writable32(size_t offset, uint32_t mask);

  // Raw bytes of [offset, offset + out.size()); the range must be inside the space.
  void read(size_t offset, std::span<uint8_t> out) const;
  // A guest write: only writable bits change. The range must be inside the space.
  void guest_write(size_t offset, std::span<const uint8_t> data);

  // Appends a capability whose bytes (including the ID byte and a placeholder next pointer)
  // are `body`, links it into the list and sets the capability bit in the status register.
  // `writable` (optional, same length) marks guest-writable bits. Returns its offset.
  Result<uint8_t> add_capability(std::span<const uint8_t> body,
                                 std::span<const uint8_t> writable = {});

 private:
  std::array<uint8_t, kConfigSize> bytes_{};
  std::array<uint8_t, kConfigSize> writable_{};
  size_t next_capability_ = kFirstCapability;
  size_t last_capability_ = 0;  // 0: none yet
};

}  // namespace vmkit::pci
