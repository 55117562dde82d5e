#include "devices/virtio/blk/block_options.h"

#include <fmt/format.h>

#include <charconv>
#include <set>
#include <vector>

#include "devices/virtio/blk/block_spec.h"

namespace vmkit {
namespace {

constexpr uint16_t kMaxQueues = 64;

// Splits on single commas; ",," stands for a literal comma.
std::vector<std::string> split_items(std::string_view text) {
  std::vector<std::string> items(1);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != ',') {
      items.back() += text[i];
    } else if (i + 1 < text.size() && text[i + 1] == ',') {
      items.back() += ',';
      ++i;
    } else {
      items.emplace_back();
    }
  }
  return items;
}

// Printable form of user input for error messages.
std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }
  return out + "'";
}

Result<bool> parse_bool(std::string_view key, std::string_view v) {
  if (v == "on" || v == "true" || v == "yes" || v == "1") return true;
  if (v == "off" || v == "false" || v == "no" || v == "0") return false;
  return Error(fmt::format("disk option '{}': expected on or off, got {}", key, quoted(v)));
}

}  // namespace

Result<BlockOptions> parse_block_options(std::string_view text) {
  BlockOptions options;
  std::set<std::string> seen;
  std::vector<std::string> items = split_items(text);
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string& item = items[i];
    size_t eq = item.find('=');
    std::string key, value;
    if (eq == std::string::npos) {
      if (i != 0) {
        return Error(fmt::format("disk option {} has no value (expected key=value)", quoted(item)));
      }
      key = "path";
      value = item;
    } else {
      key = item.substr(0, eq);
      value = item.substr(eq + 1);
    }
    if (!seen.insert(key).second) {
      return Error(fmt::format("disk option '{}' given twice", key));
    }
    if (key == "path" || key == "file") {
      if (value.empty()) return Error("disk option 'path' is empty");
      if (value.find('\0') != std::string::npos) {
        return Error(fmt::format("disk path {} contains a NUL byte", quoted(value)));
      }
      options.path = value;
    } else if (key == "readonly") {
      options.read_only = TRY(parse_bool(key, value));
    } else if (key == "serial") {
      if (value.size() > blk::kIdBytes) {
        return Error(fmt::format("disk option 'serial': {} is longer than {} bytes", quoted(value),
                                 blk::kIdBytes));
      }
      for (char c : value) {
        if (c < 0x20 || c > 0x7e) {
          return Error(
              fmt::format("disk option 'serial': {} is not printable ASCII", quoted(value)));
        }
      }
      options.serial = value;
    } else if (key == "cache") {
      if (value == "none") {
        options.cache = CacheMode::kNone;
      } else if (value == "writeback") {
        options.cache = CacheMode::kWriteback;
      } else {
        return Error(
            fmt::format("disk option 'cache': expected none or writeback, got {}", quoted(value)));
      }
    } else if (key == "format") {
      if (value != "raw" && value != "qcow2") {
        return Error(
            fmt::format("disk option 'format': expected raw or qcow2, got {}", quoted(value)));
      }
      options.format = value;
    } else if (key == "queues") {
      unsigned n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n == 0 || n > kMaxQueues) {
        return Error(fmt::format("disk option 'queues': expected 1 to {}, got {}", kMaxQueues,
                                 quoted(value)));
      }
      options.queues = static_cast<uint16_t>(n);
    } else if (key == "poll-max-ns") {
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() ||
          n > BlockOptions::kMaxPollMaxNs) {
        return Error(fmt::format("disk option 'poll-max-ns': expected 0 to {}, got {}",
                                 BlockOptions::kMaxPollMaxNs, quoted(value)));
      }
      options.poll_max_ns = n;
    } else {
      return Error(
          fmt::format("unknown disk option {} (expected path, readonly, serial, cache, "
                      "format, queues or poll-max-ns)",
                      quoted(key)));
    }
  }
  if (options.path.empty()) return Error("disk options need path=FILE");
  return options;
}

}  // namespace vmkit
