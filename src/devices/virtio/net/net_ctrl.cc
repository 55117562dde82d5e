#include "devices/virtio/net/net_ctrl.h"

#include <fmt/format.h>

#include <cstring>

#include "devices/virtio/net/net_spec.h"

namespace vmkit::net {
namespace {

// Reads little-endian integers from the command's data, failing past its end.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}
  size_t left() const { return data_.size() - at_; }
  template <typename T>
  Result<T> read() {
    if (left() < sizeof(T)) return Error("command data too short");
    T v;
    std::memcpy(&v, data_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  Result<MacAddress> mac() {
    if (left() < MacAddress::kSize) return Error("command data too short");
    MacAddress::Bytes b;
    std::memcpy(b.data(), data_.data() + at_, b.size());
    at_ += b.size();
    return MacAddress(b);
  }
  Status skip(uint64_t n) {
    if (n > left()) return Error("command data too short");
    at_ += n;
    return {};
  }

 private:
  std::span<const uint8_t> data_;
  size_t at_ = 0;
};

Status need(uint64_t features, uint64_t bits, const char* what) {
  if ((features & bits) != bits) return Error(fmt::format("{} without its feature", what));
  return {};
}

Status parse_mac_table(Reader& in, std::vector<MacAddress>& table, bool& overflow) {
  uint32_t entries = TRY(in.read<uint32_t>());
  if (uint64_t{entries} * MacAddress::kSize > in.left()) {
    return Error(fmt::format("MAC table of {} entries is longer than the command", entries));
  }
  if (entries > RxFilter::kMacTableEntries) {
    overflow = true;
    return in.skip(uint64_t{entries} * MacAddress::kSize);
  }
  for (uint32_t i = 0; i < entries; ++i) table.push_back(TRY(in.mac()));
  return {};
}

}  // namespace

Result<CtrlCommand> parse_ctrl_command(std::span<const uint8_t> bytes, const CtrlLimits& limits) {
  if (bytes.size() < 2) return Error("control command shorter than its class and command");
  if (bytes.size() > kMaxCtrlCommandBytes) {
    return Error(fmt::format("control command of {} bytes", bytes.size()));
  }
  CtrlCommand c;
  c.cls = bytes[0];
  c.cmd = bytes[1];
  Reader in(bytes.subspan(2));
  uint64_t f = limits.features;
  switch (c.cls) {
    case kCtrlRx: {
      TRY(need(f, kFeatureCtrlRx, "RX mode command"));
      if (c.cmd > kCtrlRxNobcast) return Error(fmt::format("unknown RX mode command {}", c.cmd));
      if (c.cmd > kCtrlRxAllmulti) TRY(need(f, kFeatureCtrlRxExtra, "extra RX mode command"));
      c.on = TRY(in.read<uint8_t>()) != 0;
      break;
    }
    case kCtrlMac:
      if (c.cmd == kCtrlMacTableSet) {
        TRY(need(f, kFeatureCtrlRx, "MAC table"));
        TRY(parse_mac_table(in, c.unicast, c.unicast_overflow));
        TRY(parse_mac_table(in, c.multicast, c.multicast_overflow));
      } else if (c.cmd == kCtrlMacAddrSet) {
        TRY(need(f, kFeatureCtrlMacAddr, "MAC address command"));
        c.mac = TRY(in.mac());
        if (c.mac.is_multicast()) return Error("MAC address is multicast");
      } else {
        return Error(fmt::format("unknown MAC command {}", c.cmd));
      }
      break;
    case kCtrlVlan:
      TRY(need(f, kFeatureCtrlVlan, "VLAN command"));
      if (c.cmd != kCtrlVlanAdd && c.cmd != kCtrlVlanDel) {
        return Error(fmt::format("unknown VLAN command {}", c.cmd));
      }
      c.vid = TRY(in.read<uint16_t>());
      if (c.vid > kMaxVlanId) return Error(fmt::format("VLAN id {}", c.vid));
      break;
    case kCtrlMq:
      TRY(need(f, kFeatureMq, "multiqueue command"));
      if (c.cmd != kCtrlMqVqPairsSet) return Error(fmt::format("unknown MQ command {}", c.cmd));
      c.pairs = TRY(in.read<uint16_t>());
      if (c.pairs < 1 || c.pairs > limits.max_pairs) {
        return Error(fmt::format("{} queue pairs (1 to {})", c.pairs, limits.max_pairs));
      }
      break;
    case kCtrlGuestOffloads: {
      TRY(need(f, kFeatureCtrlGuestOffloads, "guest offloads command"));
      if (c.cmd != kCtrlGuestOffloadsSet) {
        return Error(fmt::format("unknown guest offloads command {}", c.cmd));
      }
      c.offloads = TRY(in.read<uint64_t>());
      uint64_t allowed = f & kGuestOffloadBits;
      if (c.offloads & ~allowed) {
        return Error(fmt::format("guest offloads {:#x} not negotiated", c.offloads & ~allowed));
      }
      bool segmenting = c.offloads & (kFeatureGuestTso4 | kFeatureGuestTso6 | kFeatureGuestUfo);
      if (segmenting && !(c.offloads & kFeatureGuestCsum)) {
        return Error("guest segmentation offloads without checksum offload");
      }
      break;
    }
    default:
      // ANNOUNCE is not offered; anything else is unknown.
      return Error(fmt::format("unknown control class {}", c.cls));
  }
  if (in.left() != 0) return Error(fmt::format("{} bytes after the command data", in.left()));
  return c;
}

void apply_to_filter(const CtrlCommand& c, RxFilter& filter) {
  switch (c.cls) {
    case kCtrlRx:
      switch (c.cmd) {
        case kCtrlRxPromisc:
          filter.promisc = c.on;
          break;
        case kCtrlRxAllmulti:
          filter.allmulti = c.on;
          break;
        case kCtrlRxAlluni:
          filter.alluni = c.on;
          break;
        case kCtrlRxNomulti:
          filter.nomulti = c.on;
          break;
        case kCtrlRxNouni:
          filter.nouni = c.on;
          break;
        case kCtrlRxNobcast:
          filter.nobcast = c.on;
          break;
        default:
          break;
      }
      break;
    case kCtrlMac:
      if (c.cmd == kCtrlMacTableSet) {
        filter.unicast = c.unicast;
        filter.multicast = c.multicast;
        filter.unicast_overflow = c.unicast_overflow;
        filter.multicast_overflow = c.multicast_overflow;
      } else if (c.cmd == kCtrlMacAddrSet) {
        filter.mac = c.mac;
      }
      break;
    case kCtrlVlan:
      filter.vlans.set(c.vid, c.cmd == kCtrlVlanAdd);
      break;
    default:
      break;
  }
}

}  // namespace vmkit::net
