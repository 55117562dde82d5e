// Walks a built SMBIOS structure table the way a consumer does: formatted area by its length
// byte, then the string set up to the double NUL.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "arch/x86_64/smbios/smbios.h"
#include "arch/x86_64/smbios/structures.h"

namespace vmkit::x86::smbios::testing {

struct Structure {
  uint8_t type = 0;
  uint16_t handle = 0;
  std::vector<uint8_t> formatted;  // header included
  std::vector<std::string> strings;

  template <typename T>
  T as() const {
    T value{};
    EXPECT_EQ(formatted.size(), sizeof(T)) << "type " << int{type};
    std::memcpy(&value, formatted.data(), std::min(sizeof(T), formatted.size()));
    return value;
  }
  // String `index` (1-based), "" for 0; fails the test for an index past the set.
  std::string string(uint8_t index) const {
    if (index == 0) return "";
    EXPECT_LE(index, strings.size()) << "type " << int{type};
    return index <= strings.size() ? strings[index - 1] : "<BAD INDEX>";
  }
};

inline std::vector<Structure> parse_table(const SmbiosTables& t) {
  std::vector<Structure> out;
  size_t at = t.table.value() - t.base.value();
  const size_t end = at + t.table_length;
  EXPECT_EQ(end, t.bytes.size());
  while (at < end) {
    Structure s;
    if (at + 4 > end) {
      ADD_FAILURE() << "truncated header at " << at;
      break;
    }
    s.type = t.bytes[at];
    uint8_t len = t.bytes[at + 1];
    s.handle = static_cast<uint16_t>(t.bytes[at + 2] | t.bytes[at + 3] << 8);
    if (len < 4 || at + len + 2 > end) {
      ADD_FAILURE() << "bad length " << int{len} << " at " << at;
      break;
    }
    s.formatted.assign(t.bytes.begin() + static_cast<ptrdiff_t>(at),
                       t.bytes.begin() + static_cast<ptrdiff_t>(at + len));
    size_t p = at + len;
    if (t.bytes[p] == 0) {
      EXPECT_EQ(t.bytes[p + 1], 0) << "empty string set must be two NULs";
      p += 2;
    } else {
      while (p < end && t.bytes[p] != 0) {
        auto first = t.bytes.begin() + static_cast<ptrdiff_t>(p);
        auto nul = std::find(first, t.bytes.begin() + static_cast<ptrdiff_t>(end), uint8_t{0});
        s.strings.emplace_back(first, nul);
        p += s.strings.back().size() + 1;
      }
      p += 1;  // the set's final NUL
    }
    out.push_back(s);
    at = p;
  }
  EXPECT_EQ(at, end);
  return out;
}

}  // namespace vmkit::x86::smbios::testing
