#include "pci/msix.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "base/checked.h"

namespace vmkit {
namespace {

constexpr uint16_t kControlEnable = 1u << 15;
constexpr uint16_t kControlFunctionMask = 1u << 14;
constexpr uint32_t kVectorControlMasked = 1u;

// Guest-writable bits of one 16-byte table entry: address (dword aligned), upper address,
// data, and the mask bit of vector control.
constexpr uint8_t kEntryWritable[16] = {0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00};

uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

}  // namespace

MsixCapability::MsixCapability(uint16_t vectors, std::unique_ptr<MsiVectorGroup> group)
    : vectors_(std::clamp<uint16_t>(vectors, 1, kMaxVectors)),
      group_(std::move(group)),
      table_(table_bytes(), 0),
      pending_((vectors_ + 63u) / 64u, 0),
      routes_(vectors_) {
  // Every vector starts masked.
  for (uint16_t v = 0; v < vectors_; ++v) table_[v * kEntrySize + 12] = kVectorControlMasked;
}

Status MsixCapability::install(pci::ConfigSpace& config, unsigned bar, uint32_t table_offset,
                               uint32_t pba_offset) {
  if (bar > 5 || table_offset % 8 || pba_offset % 8) {
    return Error(fmt::format("msix: table {:#x} / pba {:#x} in BAR {} misaligned", table_offset,
                             pba_offset, bar));
  }
  uint16_t control = static_cast<uint16_t>(vectors_ - 1);
  uint8_t body[12] = {pci::kCapMsix, 0, static_cast<uint8_t>(control),
                      static_cast<uint8_t>(control >> 8)};
  uint32_t table = table_offset | bar;
  uint32_t pba = pba_offset | bar;
  std::memcpy(body + 4, &table, 4);
  std::memcpy(body + 8, &pba, 4);
  uint8_t writable[12] = {0, 0, 0,
                          static_cast<uint8_t>((kControlEnable | kControlFunctionMask) >> 8)};
  cap_offset_ = TRY(config.add_capability(body, writable));
  return {};
}

void MsixCapability::config_written(const pci::ConfigSpace& config, uint16_t offset, size_t len) {
  if (cap_offset_ == 0) return;
  uint16_t control_at = static_cast<uint16_t>(cap_offset_ + 2);
  if (offset >= control_at + 2 || offset + len <= control_at) return;
  uint16_t control = config.read16(control_at);
  std::lock_guard lock(mu_);
  bool enabled = (control & kControlEnable) != 0;
  bool masked = (control & kControlFunctionMask) != 0;
  if (enabled == enabled_ && masked == function_masked_) return;
  enabled_ = enabled;
  function_masked_ = masked;
  enabled_flag_.store(enabled, std::memory_order_release);
  for (uint16_t v = 0; v < vectors_; ++v) sync(v);
}

bool MsixCapability::entry_masked(uint16_t vector) const {
  return (table_[vector * kEntrySize + 12] & kVectorControlMasked) != 0;
}

std::optional<MsiMessage> MsixCapability::route_of(uint16_t vector) const {
  if (!enabled_ || function_masked_ || entry_masked(vector)) return std::nullopt;
  const uint8_t* e = table_.data() + vector * kEntrySize;
  MsiMessage message;
  message.address = uint64_t{load32(e)} | (uint64_t{load32(e + 4)} << 32);
  message.data = load32(e + 8);
  return message;
}

void MsixCapability::sync(uint16_t vector) {
  std::optional<MsiMessage> route = route_of(vector);
  if (route != routes_[vector]) {
    routes_[vector] = route;
    if (group_) group_->update(vector, route);
  }
  uint64_t bit = uint64_t{1} << (vector % 64);
  if (route && (pending_[vector / 64] & bit)) {
    pending_[vector / 64] &= ~bit;
    if (group_) group_->trigger(vector);
  }
}

void MsixCapability::table_read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); ++i) {
    auto at = checked_add<uint64_t>(offset, i);
    data[i] = at && *at < table_.size() ? table_[*at] : 0;
  }
}

void MsixCapability::table_write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  uint64_t first = vectors_, last = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    auto at = checked_add<uint64_t>(offset, i);
    if (!at || *at >= table_.size()) continue;
    uint8_t mask = kEntryWritable[*at % kEntrySize];
    table_[*at] = static_cast<uint8_t>((table_[*at] & ~mask) | (data[i] & mask));
    first = std::min(first, *at / kEntrySize);
    last = std::max(last, *at / kEntrySize);
  }
  for (uint64_t v = first; v <= last && v < vectors_; ++v) sync(static_cast<uint16_t>(v));
}

void MsixCapability::pba_read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); ++i) {
    auto at = checked_add<uint64_t>(offset, i);
    data[i] = 0;
    if (at && *at < pba_bytes()) {
      data[i] = static_cast<uint8_t>(pending_[*at / 8] >> (8 * (*at % 8)));
    }
  }
}

void MsixCapability::reset() {
  std::lock_guard lock(mu_);
  enabled_ = false;
  function_masked_ = false;
  enabled_flag_.store(false, std::memory_order_release);
  std::fill(table_.begin(), table_.end(), 0);
  for (uint16_t v = 0; v < vectors_; ++v) table_[v * kEntrySize + 12] = kVectorControlMasked;
  std::fill(pending_.begin(), pending_.end(), 0);
  for (uint16_t v = 0; v < vectors_; ++v) sync(v);
}

void MsixCapability::notify(uint16_t vector) {
  std::lock_guard lock(mu_);
  if (vector >= vectors_ || !enabled_) return;
  if (!routes_[vector]) {
    pending_[vector / 64] |= uint64_t{1} << (vector % 64);
    return;
  }
  if (group_) group_->trigger(vector);
}

}  // namespace vmkit
