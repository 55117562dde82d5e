#include "base/size.h"

#include <cctype>

#include "base/checked.h"

namespace vmkit {

Result<uint64_t> parse_size(std::string_view text, uint64_t default_unit) {
  auto bad = [&](const char* why) {
    return Error("invalid size '" + std::string(text) + "': " + why);
  };
  if (text.empty()) return bad("empty");
  size_t i = 0;
  uint64_t number = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    auto next = checked_mul<uint64_t>(number, 10);
    if (next) next = checked_add<uint64_t>(*next, static_cast<uint64_t>(text[i] - '0'));
    if (!next) return bad("too large");
    number = *next;
    ++i;
  }
  if (i == 0) return bad("expected a number with an optional K, M, G or T suffix");
  std::string suffix;
  for (; i < text.size(); ++i) {
    suffix += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
  }
  uint64_t unit = default_unit;
  if (!suffix.empty()) {
    if (suffix == "B") {
      unit = 1;
    } else {
      char u = suffix[0];
      std::string rest = suffix.substr(1);
      if (rest != "" && rest != "B" && rest != "IB") return bad("unknown suffix");
      switch (u) {
        case 'K':
          unit = 1ULL << 10;
          break;
        case 'M':
          unit = 1ULL << 20;
          break;
        case 'G':
          unit = 1ULL << 30;
          break;
        case 'T':
          unit = 1ULL << 40;
          break;
        default:
          return bad("unknown suffix (use K, M, G or T)");
      }
    }
  }
  auto bytes = checked_mul<uint64_t>(number, unit);
  if (!bytes) return bad("too large");
  return *bytes;
}

std::string format_size(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"T", "G", "M", "K"};
  for (int i = 0; i < 4; ++i) {
    uint64_t unit = 1ULL << (40 - 10 * i);
    if (bytes >= unit && bytes % unit == 0) return std::to_string(bytes / unit) + kUnits[i];
  }
  return std::to_string(bytes);
}

}  // namespace vmkit
