#include "arch/x86_64/acpi/aml.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace vmkit::x86::acpi::aml {
namespace {

// Opcodes (ACPI 6.5 section 20.3).
constexpr uint8_t kZeroOp = 0x00;
constexpr uint8_t kOneOp = 0x01;
constexpr uint8_t kNameOp = 0x08;
constexpr uint8_t kBytePrefix = 0x0a;
constexpr uint8_t kWordPrefix = 0x0b;
constexpr uint8_t kDWordPrefix = 0x0c;
constexpr uint8_t kStringPrefix = 0x0d;
constexpr uint8_t kQWordPrefix = 0x0e;
constexpr uint8_t kScopeOp = 0x10;
constexpr uint8_t kBufferOp = 0x11;
constexpr uint8_t kPackageOp = 0x12;
constexpr uint8_t kMethodOp = 0x14;
constexpr uint8_t kDualNamePrefix = 0x2e;
constexpr uint8_t kMultiNamePrefix = 0x2f;
constexpr uint8_t kExtOpPrefix = 0x5b;
constexpr uint8_t kDeviceOp = 0x82;          // after kExtOpPrefix
constexpr uint8_t kRootChar = 0x5c;          // '\'
constexpr uint8_t kParentPrefixChar = 0x5e;  // '^'
constexpr uint8_t kReturnOp = 0xa4;
constexpr uint8_t kOnesOp = 0xff;

[[noreturn]] void bug(const std::string& what) {
  std::fprintf(stderr, "vmkit: bug: AML builder: %s\n", what.c_str());
  std::abort();
}

void append_le(AmlBytes& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void append(AmlBytes& out, const AmlBytes& bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

bool is_lead_char(char c) {
  return (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_lead_char(c) || (c >= '0' && c <= '9');
}

bool is_valid_segment(std::string_view seg) {
  if (seg.empty() || seg.size() > 4 || !is_lead_char(seg[0])) return false;
  for (char c : seg) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

// Splits "A.B.C" into segments; empty result for an empty path.
std::vector<std::string_view> split_segments(std::string_view path) {
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    size_t dot = path.find('.');
    segments.push_back(path.substr(0, dot));
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
    if (path.empty()) segments.emplace_back();  // trailing dot: an invalid empty segment
  }
  return segments;
}

// A term: opcode bytes, PkgLength, then body.
AmlBytes with_pkg_length(std::initializer_list<uint8_t> opcode, const AmlBytes& body) {
  AmlBytes out(opcode);
  append_pkg_length(out, body.size());
  append(out, body);
  return out;
}

}  // namespace

void append_pkg_length(AmlBytes& out, size_t body_len) {
  // The encoded length includes the PkgLength bytes, so pick the smallest encoding whose
  // capacity covers body + itself.
  if (body_len + 1 <= 0x3f) {
    out.push_back(static_cast<uint8_t>(body_len + 1));
    return;
  }
  int extra = 0;
  size_t total = 0;
  for (extra = 1; extra <= 3; ++extra) {
    total = body_len + 1 + static_cast<size_t>(extra);
    if (total < (size_t{1} << (4 + 8 * extra))) break;
  }
  if (extra > 3) bug("package of " + std::to_string(body_len) + " bytes exceeds PkgLength");
  out.push_back(static_cast<uint8_t>(static_cast<size_t>(extra) << 6 | (total & 0x0f)));
  for (int i = 0; i < extra; ++i) out.push_back(static_cast<uint8_t>(total >> (4 + 8 * i)));
}

AmlBytes pkg_length(size_t body_len) {
  AmlBytes out;
  append_pkg_length(out, body_len);
  return out;
}

AmlBytes integer(uint64_t value) {
  if (value == 0) return {kZeroOp};
  if (value == 1) return {kOneOp};
  if (value == ~uint64_t{0}) return {kOnesOp};
  if (value <= 0xff) return byte_const(static_cast<uint8_t>(value));
  if (value <= 0xffff) return word_const(static_cast<uint16_t>(value));
  if (value <= 0xffffffff) return dword_const(static_cast<uint32_t>(value));
  return qword_const(value);
}

AmlBytes byte_const(uint8_t value) {
  return {kBytePrefix, value};
}

AmlBytes word_const(uint16_t value) {
  AmlBytes out{kWordPrefix};
  append_le(out, value, 2);
  return out;
}

AmlBytes dword_const(uint32_t value) {
  AmlBytes out{kDWordPrefix};
  append_le(out, value, 4);
  return out;
}

AmlBytes qword_const(uint64_t value) {
  AmlBytes out{kQWordPrefix};
  append_le(out, value, 8);
  return out;
}

AmlBytes string(std::string_view value) {
  AmlBytes out{kStringPrefix};
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (c == 0 || c > 0x7f) bug("string \"" + std::string(value) + "\" is not ASCII without NUL");
    out.push_back(c);
  }
  out.push_back(0);
  return out;
}

uint32_t eisa_id_value(std::string_view id) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  bool ok = id.size() == 7;
  for (size_t i = 0; ok && i < 3; ++i) ok = id[i] >= 'A' && id[i] <= 'Z';
  for (size_t i = 3; ok && i < 7; ++i) ok = hex(id[i]) >= 0;
  if (!ok) bug("bad EISA id \"" + std::string(id) + "\"");
  // Three 5-bit letters ('A' = 1) and a 16-bit product number, stored big-endian.
  uint32_t v =
      static_cast<uint32_t>((id[0] - '@') << 26 | (id[1] - '@') << 21 | (id[2] - '@') << 16 |
                            hex(id[3]) << 12 | hex(id[4]) << 8 | hex(id[5]) << 4 | hex(id[6]));
  return __builtin_bswap32(v);
}

AmlBytes eisa_id(std::string_view id) {
  return dword_const(eisa_id_value(id));
}

AmlBytes buffer(std::span<const uint8_t> bytes) {
  AmlBytes body = integer(bytes.size());
  body.insert(body.end(), bytes.begin(), bytes.end());
  return with_pkg_length({kBufferOp}, body);
}

AmlBytes package(const std::vector<AmlBytes>& elements) {
  if (elements.size() > 0xff) bug("package of " + std::to_string(elements.size()) + " elements");
  AmlBytes body{static_cast<uint8_t>(elements.size())};
  for (const auto& e : elements) append(body, e);
  return with_pkg_length({kPackageOp}, body);
}

bool is_valid_name_path(std::string_view path) {
  if (!path.empty() && path[0] == '\\') {
    path.remove_prefix(1);
    if (path.empty()) return true;  // the root scope itself
  } else {
    while (!path.empty() && path[0] == '^') path.remove_prefix(1);
  }
  auto segments = split_segments(path);
  if (segments.empty() || segments.size() > 255) return false;
  for (auto seg : segments) {
    if (!is_valid_segment(seg)) return false;
  }
  return true;
}

AmlBytes name_string(std::string_view path) {
  if (!is_valid_name_path(path)) bug("bad name path \"" + std::string(path) + "\"");
  AmlBytes out;
  if (!path.empty() && path[0] == '\\') {
    out.push_back(kRootChar);
    path.remove_prefix(1);
    if (path.empty()) {
      out.push_back(0);  // NullName
      return out;
    }
  }
  while (!path.empty() && path[0] == '^') {
    out.push_back(kParentPrefixChar);
    path.remove_prefix(1);
  }
  auto segments = split_segments(path);
  if (segments.size() == 2) {
    out.push_back(kDualNamePrefix);
  } else if (segments.size() > 2) {
    out.push_back(kMultiNamePrefix);
    out.push_back(static_cast<uint8_t>(segments.size()));
  }
  for (auto seg : segments) {
    for (size_t i = 0; i < 4; ++i)
      out.push_back(static_cast<uint8_t>(i < seg.size() ? seg[i] : '_'));
  }
  return out;
}

AmlBytes name(std::string_view path, const AmlBytes& object) {
  AmlBytes out{kNameOp};
  append(out, name_string(path));
  append(out, object);
  return out;
}

AmlBytes scope(std::string_view path, const std::vector<AmlBytes>& terms) {
  AmlBytes body = name_string(path);
  for (const auto& t : terms) append(body, t);
  return with_pkg_length({kScopeOp}, body);
}

AmlBytes device(std::string_view path, const std::vector<AmlBytes>& terms) {
  AmlBytes body = name_string(path);
  for (const auto& t : terms) append(body, t);
  return with_pkg_length({kExtOpPrefix, kDeviceOp}, body);
}

AmlBytes method(std::string_view path, uint8_t num_args, MethodSerialization serialization,
                const std::vector<AmlBytes>& terms, uint8_t sync_level) {
  if (num_args > 7) bug("method with " + std::to_string(num_args) + " arguments");
  if (sync_level > 15) bug("method sync level " + std::to_string(sync_level));
  AmlBytes body = name_string(path);
  uint8_t flags = static_cast<uint8_t>(
      num_args | (serialization == MethodSerialization::kSerialized ? 0x08 : 0) | sync_level << 4);
  body.push_back(flags);
  for (const auto& t : terms) append(body, t);
  return with_pkg_length({kMethodOp}, body);
}

AmlBytes return_value(const AmlBytes& value) {
  AmlBytes out{kReturnOp};
  append(out, value);
  return out;
}

AmlBytes concat(const std::vector<AmlBytes>& terms) {
  AmlBytes out;
  for (const auto& t : terms) append(out, t);
  return out;
}

}  // namespace vmkit::x86::acpi::aml
