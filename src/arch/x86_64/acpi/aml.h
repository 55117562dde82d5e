// An AML (ACPI Machine Language) byte-code encoder for the subset vmkit's DSDT needs: data
// objects (integers, strings, buffers, packages, EISA ids), name strings with root/parent
// prefixes and multi-segment paths, and the named objects Name, Scope, Device and Method.
//
// Each function returns the encoded bytes of one term; terms nest by value:
//   device("COM1", {name("_HID", eisa_id("PNP0501")), name("_UID", integer(0))})
// The encoding follows ACPI 6.5 chapter 20 and matches what iasl emits for the same ASL.
//
// Names and paths are written by vmkit itself (constants, generated processor names), so a
// malformed one is a vmkit bug: the builder aborts with a message instead of emitting bad AML.
// Use is_valid_name_path() first for anything that is not a literal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace vmkit::x86::acpi::aml {

using AmlBytes = std::vector<uint8_t>;

// The largest value a PkgLength can encode (28 bits).
inline constexpr size_t kMaxPkgLength = (size_t{1} << 28) - 1;

// Appends the PkgLength for a term whose body (everything after the PkgLength) is `body_len`
// bytes long. The encoded value counts the PkgLength bytes themselves, so the encoding takes
// 1 byte up to a total of 63, 2 bytes up to 4095, 3 up to 2^20-1 and 4 up to 2^28-1.
void append_pkg_length(AmlBytes& out, size_t body_len);
AmlBytes pkg_length(size_t body_len);

// Integers. integer() picks the shortest encoding as iasl does (Zero, One, Ones for
// 0xFFFF_FFFF_FFFF_FFFF, then Byte/Word/DWord/QWord); the others force a width.
AmlBytes integer(uint64_t value);
AmlBytes byte_const(uint8_t value);
AmlBytes word_const(uint16_t value);
AmlBytes dword_const(uint32_t value);
AmlBytes qword_const(uint64_t value);

// A String object: ASCII 0x01-0x7F, NUL-terminated in the encoding.
AmlBytes string(std::string_view value);

// EISAID("PNP0A03"): three uppercase letters and four hex digits, compressed to a DWord.
AmlBytes eisa_id(std::string_view id);
// The 32-bit value an EISA id compresses to (byte-swapped as ACPI stores it).
uint32_t eisa_id_value(std::string_view id);

// A Buffer object holding `bytes` (BufferSize is the byte count).
AmlBytes buffer(std::span<const uint8_t> bytes);

// A Package of at most 255 elements, each an encoded data object or name string.
AmlBytes package(const std::vector<AmlBytes>& elements);

// NameString: optional root '\' or any number of parent '^' prefixes, then segments separated
// by '.'; each segment 1-4 characters [A-Z_][A-Z0-9_]*, padded with '_' to 4 ("_S5" -> "_S5_").
// "\" alone is the root scope.
bool is_valid_name_path(std::string_view path);
AmlBytes name_string(std::string_view path);

// DefName: Name (path, object).
AmlBytes name(std::string_view path, const AmlBytes& object);
// DefScope / DefDevice with their term lists.
AmlBytes scope(std::string_view path, const std::vector<AmlBytes>& terms);
AmlBytes device(std::string_view path, const std::vector<AmlBytes>& terms);

enum class MethodSerialization : uint8_t { kNotSerialized, kSerialized };

// DefMethod: Method (path, num_args (0-7), serialization, sync_level (0-15)) { terms }.
AmlBytes method(std::string_view path, uint8_t num_args, MethodSerialization serialization,
                const std::vector<AmlBytes>& terms, uint8_t sync_level = 0);
// DefReturn: Return (value).
AmlBytes return_value(const AmlBytes& value);

// Concatenates terms into one TermList.
AmlBytes concat(const std::vector<AmlBytes>& terms);

}  // namespace vmkit::x86::acpi::aml
