// The AML encoder's byte output, checked against the ACPI 6.5 encodings by hand.
#include "arch/x86_64/acpi/aml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vmkit::x86::acpi::aml {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

// Decodes a PkgLength; returns {value, bytes used}.
std::pair<size_t, size_t> decode_pkg_length(const AmlBytes& b) {
  size_t extra = b.at(0) >> 6;
  if (extra == 0) return {b[0] & 0x3fu, 1};
  size_t value = b[0] & 0x0fu;
  for (size_t i = 0; i < extra; ++i) value |= size_t{b.at(1 + i)} << (4 + 8 * i);
  return {value, 1 + extra};
}

TEST(PkgLength, OneByteUpTo63) {
  EXPECT_THAT(pkg_length(0), ElementsAre(0x01));
  EXPECT_THAT(pkg_length(62), ElementsAre(0x3f));  // 62 + itself = 63, the 6-bit maximum
}

TEST(PkgLength, TwoBytesFrom64To4095) {
  // 63 bytes of body: 1 + 63 = 64 does not fit 6 bits, so 2 bytes and a total of 65.
  EXPECT_THAT(pkg_length(63), ElementsAre(0x41, 0x04));
  EXPECT_THAT(pkg_length(4093), ElementsAre(0x4f, 0xff));  // total 4095
}

TEST(PkgLength, ThreeBytesFrom4096) {
  EXPECT_THAT(pkg_length(4093 + 1), ElementsAre(0x81, 0x00, 0x01));  // total 4097 = 0x1001
  EXPECT_THAT(pkg_length(1048572), ElementsAre(0x8f, 0xff, 0xff));   // total 0xfffff
}

TEST(PkgLength, FourBytesFrom2To20) {
  EXPECT_THAT(pkg_length(1048573), ElementsAre(0xc1, 0x00, 0x00, 0x01));  // total 0x100001
  EXPECT_THAT(pkg_length(kMaxPkgLength - 4), ElementsAre(0xcf, 0xff, 0xff, 0xff));
}

TEST(PkgLength, EncodesBodyPlusItselfEverywhereNearBoundaries) {
  for (size_t boundary : {size_t{63}, size_t{4095}, size_t{1} << 20, size_t{1} << 28}) {
    for (size_t body = boundary - 6; body < boundary + 3 && body + 4 <= kMaxPkgLength; ++body) {
      AmlBytes enc = pkg_length(body);
      auto [value, used] = decode_pkg_length(enc);
      EXPECT_EQ(used, enc.size()) << body;
      EXPECT_EQ(value, body + used) << "body " << body;
      // The smallest encoding that fits: one byte less would not hold the total.
      if (used > 1) {
        size_t prev_capacity = used == 2 ? 63 : (size_t{1} << (4 + 8 * (used - 2))) - 1;
        EXPECT_GT(body + used - 1, prev_capacity) << body;
      }
    }
  }
}

TEST(PkgLengthDeathTest, TooLongAborts) {
  EXPECT_DEATH(pkg_length(kMaxPkgLength - 3), "exceeds PkgLength");
}

TEST(Integer, ShortestEncoding) {
  EXPECT_THAT(integer(0), ElementsAre(0x00));
  EXPECT_THAT(integer(1), ElementsAre(0x01));
  EXPECT_THAT(integer(2), ElementsAre(0x0a, 0x02));
  EXPECT_THAT(integer(0xff), ElementsAre(0x0a, 0xff));
  EXPECT_THAT(integer(0x100), ElementsAre(0x0b, 0x00, 0x01));
  EXPECT_THAT(integer(0x10000), ElementsAre(0x0c, 0x00, 0x00, 0x01, 0x00));
  EXPECT_THAT(integer(0x100000000), ElementsAre(0x0e, 0, 0, 0, 0, 1, 0, 0, 0));
  EXPECT_THAT(integer(~uint64_t{0}), ElementsAre(0xff));
}

TEST(Integer, ForcedWidths) {
  EXPECT_THAT(byte_const(0), ElementsAre(0x0a, 0x00));
  EXPECT_THAT(word_const(1), ElementsAre(0x0b, 0x01, 0x00));
  EXPECT_THAT(dword_const(0x12345678), ElementsAre(0x0c, 0x78, 0x56, 0x34, 0x12));
  EXPECT_THAT(qword_const(2), ElementsAre(0x0e, 2, 0, 0, 0, 0, 0, 0, 0));
}

TEST(String, NulTerminated) {
  EXPECT_THAT(string("AB"), ElementsAre(0x0d, 'A', 'B', 0x00));
  EXPECT_THAT(string(""), ElementsAre(0x0d, 0x00));
}

TEST(EisaId, CompressesLikeIasl) {
  // EISAID("PNP0A03") = 0x030AD041, EISAID("PNP0501") = 0x0105D041.
  EXPECT_EQ(eisa_id_value("PNP0A03"), 0x030ad041u);
  EXPECT_EQ(eisa_id_value("PNP0501"), 0x0105d041u);
  EXPECT_THAT(eisa_id("PNP0A08"), ElementsAre(0x0c, 0x41, 0xd0, 0x0a, 0x08));
}

TEST(NameString, Forms) {
  EXPECT_THAT(name_string("_S5"), ElementsAre('_', 'S', '5', '_'));
  EXPECT_THAT(name_string("\\_SB"), ElementsAre('\\', '_', 'S', 'B', '_'));
  EXPECT_THAT(name_string("\\"), ElementsAre('\\', 0x00));
  EXPECT_THAT(name_string("^^FOO"), ElementsAre('^', '^', 'F', 'O', 'O', '_'));
  EXPECT_THAT(name_string("\\_SB.PCI0"),
              ElementsAre('\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0'));
  EXPECT_THAT(name_string("A.B.C"),
              ElementsAre(0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_'));
}

TEST(NameString, Validation) {
  for (const char* ok : {"_S5", "\\", "\\_SB.PCI0", "^PCI0", "A", "C0FF", "_SB_.COM1.X"}) {
    EXPECT_TRUE(is_valid_name_path(ok)) << ok;
  }
  for (const char* bad :
       {"", "0ABC", "ABCDE", "abc", "A..B", "A.", ".A", "\\^A", "^", "A-B", "\\\\A"}) {
    EXPECT_FALSE(is_valid_name_path(bad)) << bad;
  }
}

TEST(NameStringDeathTest, InvalidNameAborts) {
  EXPECT_DEATH(name_string("bad"), "bad name path");
  EXPECT_DEATH(name("TOOLONG", integer(0)), "bad name path");
}

TEST(Objects, NameScopeDevice) {
  EXPECT_THAT(name("_UID", integer(0)), ElementsAre(0x08, '_', 'U', 'I', 'D', 0x00));
  EXPECT_THAT(scope("\\_SB", {}), ElementsAre(0x10, 0x06, '\\', '_', 'S', 'B', '_'));
  EXPECT_THAT(device("COM1", {name("_UID", integer(1))}),
              ElementsAre(0x5b, 0x82, 0x0b, 'C', 'O', 'M', '1', 0x08, '_', 'U', 'I', 'D', 0x01));
}

TEST(Objects, PackageAndBuffer) {
  EXPECT_THAT(package({integer(5), integer(0)}), ElementsAre(0x12, 0x05, 0x02, 0x0a, 0x05, 0x00));
  uint8_t bytes[] = {0xaa, 0xbb};
  EXPECT_THAT(buffer(bytes), ElementsAre(0x11, 0x05, 0x0a, 0x02, 0xaa, 0xbb));
  EXPECT_THAT(buffer({}), ElementsAre(0x11, 0x02, 0x00));
}

TEST(Objects, MethodFlagsAndReturn) {
  AmlBytes m =
      method("_STA", 0, MethodSerialization::kNotSerialized, {return_value(integer(0x0f))});
  EXPECT_THAT(m, ElementsAre(0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f));
  AmlBytes s = method("FOO", 3, MethodSerialization::kSerialized, {}, 2);
  EXPECT_THAT(s, ElementsAre(0x14, 0x06, 'F', 'O', 'O', '_', 0x2b));
}

TEST(Objects, LargeDeviceUsesLongPkgLength) {
  std::vector<AmlBytes> terms(20, name("_UID", integer(0x12345678)));  // 20 * 10 bytes
  AmlBytes d = device("BIG", terms);
  AmlBytes body(d.begin() + 2, d.end());
  auto [value, used] = decode_pkg_length(body);
  EXPECT_EQ(used, 2u);
  EXPECT_EQ(value, d.size() - 2);  // everything after the two opcode bytes
}

TEST(ObjectsDeathTest, BadArgumentsAbort) {
  EXPECT_DEATH(method("FOO", 8, MethodSerialization::kNotSerialized, {}), "arguments");
  EXPECT_DEATH(package(std::vector<AmlBytes>(256, integer(0))), "256 elements");
  EXPECT_DEATH(eisa_id("pnp0a03"), "bad EISA id");
  EXPECT_DEATH(string("\x80"), "not ASCII");
}

TEST(Concat, JoinsInOrder) {
  EXPECT_THAT(concat({{1, 2}, {}, {3}}), ElementsAreArray({1, 2, 3}));
}

}  // namespace
}  // namespace vmkit::x86::acpi::aml
