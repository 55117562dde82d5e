#include "net/net_options.h"

#include <fmt/format.h>

#include <charconv>
#include <set>

namespace vmkit {
namespace {

// Printable form of user input for error messages.
std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 80)) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }
  if (s.size() > 80) out += "...";
  return out + "'";
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t at = text.find(sep, start);
    if (at == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

Result<unsigned> parse_number(std::string_view text, unsigned min, unsigned max) {
  unsigned n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n < min || n > max) {
    return Error("");
  }
  return n;
}

Result<bool> parse_on_off(std::string_view key, std::string_view v) {
  if (v == "on" || v == "up" || v == "true" || v == "yes" || v == "1") return true;
  if (v == "off" || v == "down" || v == "false" || v == "no" || v == "0") return false;
  return Error(fmt::format("net option '{}': expected on or off, got {}", key, quoted(v)));
}

bool valid_ifname(std::string_view name) {
  // The kernel's dev_valid_name(): 1-15 bytes, not "." or "..", no '/', ':' or whitespace.
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == ':' || u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

}  // namespace

Result<uint32_t> parse_ipv4(std::string_view text) {
  std::vector<std::string_view> parts = split(text, '.');
  if (parts.size() != 4) return Error(fmt::format("invalid IPv4 address {}", quoted(text)));
  uint32_t addr = 0;
  for (std::string_view p : parts) {
    auto n = parse_number(p, 0, 255);
    if (!n.ok() || p.size() > 3) return Error(fmt::format("invalid IPv4 address {}", quoted(text)));
    addr = (addr << 8) | *n;
  }
  return addr;
}

std::string format_ipv4(uint32_t addr) {
  return fmt::format("{}.{}.{}.{}", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
                     addr & 0xff);
}

std::string HostForward::to_string() const {
  return fmt::format("{}:{}:{}-{}:{}", udp ? "udp" : "tcp", format_ipv4(host_addr), host_port,
                     format_ipv4(guest_addr), guest_port);
}

Result<HostForward> parse_host_forward(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Error(
        fmt::format("net option 'hostfwd': {} in {} (expected "
                    "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, "
                    "e.g. tcp::2222-:22)",
                    why, quoted(text)));
  };
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) return bad("no '-' between host and guest");
  std::vector<std::string_view> host = split(text.substr(0, dash), ':');
  std::vector<std::string_view> guest = split(text.substr(dash + 1), ':');
  if (host.size() != 3) return bad("host side is not PROTO:ADDR:PORT");
  if (guest.size() != 2) return bad("guest side is not ADDR:PORT");
  HostForward fwd;
  if (host[0] == "udp") {
    fwd.udp = true;
  } else if (host[0] != "tcp" && !host[0].empty()) {
    return bad(fmt::format("protocol {} is not tcp or udp", quoted(host[0])));
  }
  if (!host[1].empty()) {
    auto addr = parse_ipv4(host[1]);
    if (!addr.ok()) return bad(fmt::format("host address {} is not IPv4", quoted(host[1])));
    fwd.host_addr = *addr;
  }
  auto host_port = parse_number(host[2], 1, 65535);
  if (!host_port.ok()) return bad(fmt::format("host port {} is not in 1-65535", quoted(host[2])));
  fwd.host_port = static_cast<uint16_t>(*host_port);
  if (!guest[0].empty()) {
    auto addr = parse_ipv4(guest[0]);
    if (!addr.ok()) return bad(fmt::format("guest address {} is not IPv4", quoted(guest[0])));
    uint32_t host_part = *addr & ~kUserNetmask;
    if ((*addr & kUserNetmask) != kUserNetwork || host_part == 0 || host_part == 0xff ||
        *addr == kUserHost || *addr == kUserNameserver) {
      return bad(
          fmt::format("guest address {} is not a guest address in 10.0.2.0/24", quoted(guest[0])));
    }
    fwd.guest_addr = *addr;
  }
  auto guest_port = parse_number(guest[1], 1, 65535);
  if (!guest_port.ok())
    return bad(fmt::format("guest port {} is not in 1-65535", quoted(guest[1])));
  fwd.guest_port = static_cast<uint16_t>(*guest_port);
  return fwd;
}

Result<NetOptions> parse_net_options(std::string_view text) {
  std::vector<std::string_view> items = split(text, ',');
  NetOptions options;
  if (items[0] == "tap") {
    options.kind = NetBackendKind::kTap;
  } else if (items[0] == "user") {
    options.kind = NetBackendKind::kUser;
  } else {
    return Error(
        fmt::format("unknown network backend {} (expected tap or user, e.g. "
                    "--net user,hostfwd=tcp::2222-:22 or --net tap,ifname=tap0)",
                    quoted(items[0])));
  }
  std::set<std::string_view> seen;
  for (size_t i = 1; i < items.size(); ++i) {
    std::string_view item = items[i];
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Error(fmt::format("net option {} has no value (expected key=value)", quoted(item)));
    }
    std::string_view key = item.substr(0, eq);
    std::string_view value = item.substr(eq + 1);
    if (key != "hostfwd" && !seen.insert(key).second) {
      return Error(fmt::format("net option {} given twice", quoted(key)));
    }
    bool tap = options.kind == NetBackendKind::kTap;
    if (key == "mac") {
      auto mac = MacAddress::parse(value);
      if (!mac.ok()) return std::move(mac).error().context("net option 'mac'");
      if (mac->is_multicast() || mac->is_zero()) {
        return Error(fmt::format("net option 'mac': {} is not a unicast address", quoted(value)));
      }
      options.mac = *mac;
    } else if (key == "link") {
      options.link_up = TRY(parse_on_off(key, value));
    } else if (key == "ifname" && tap) {
      if (!valid_ifname(value)) {
        return Error(fmt::format(
            "net option 'ifname': {} is not an interface name (1-15 bytes, no '/', ':' or spaces)",
            quoted(value)));
      }
      options.ifname = value;
    } else if (key == "queues" && tap) {
      auto n = parse_number(value, 1, kMaxNetQueuePairs);
      if (!n.ok()) {
        return Error(fmt::format("net option 'queues': expected 1 to {}, got {}", kMaxNetQueuePairs,
                                 quoted(value)));
      }
      options.queues = static_cast<uint16_t>(*n);
    } else if (key == "hostfwd" && !tap) {
      HostForward fwd = TRY(parse_host_forward(value));
      for (const HostForward& other : options.hostfwd) {
        if (other.udp == fwd.udp && other.host_port == fwd.host_port &&
            (other.host_addr == fwd.host_addr || other.host_addr == 0 || fwd.host_addr == 0)) {
          return Error(fmt::format("net option 'hostfwd': host port {}/{} forwarded twice",
                                   fwd.host_port, fwd.udp ? "udp" : "tcp"));
        }
      }
      if (options.hostfwd.size() >= kMaxHostForwards) {
        return Error(fmt::format("net option 'hostfwd': more than {} forwards", kMaxHostForwards));
      }
      options.hostfwd.push_back(fwd);
    } else {
      return Error(fmt::format("unknown {} net option {} (expected {})", tap ? "tap" : "user",
                               quoted(key),
                               tap ? "ifname, mac, queues or link" : "hostfwd, mac or link"));
    }
  }
  if (options.kind == NetBackendKind::kTap && options.ifname.empty()) {
    return Error("tap networking needs ifname=NAME (e.g. --net tap,ifname=tap0)");
  }
  return options;
}

}  // namespace vmkit
