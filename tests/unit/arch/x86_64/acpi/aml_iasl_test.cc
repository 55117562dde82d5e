// The AML encoder against iasl: the same ASL compiled by the ACPICA compiler must give the same
// bytes.
#include <gtest/gtest.h>

#include "acpica_tools.h"
#include "arch/x86_64/acpi/aml.h"
#include "arch/x86_64/acpi/aml_resources.h"

namespace vmkit::x86::acpi::aml {
namespace {

using testing::compile_asl;
using testing::hex;

void expect_same_as_iasl(const std::string& asl, const AmlBytes& ours,
                         const std::string& flags = "") {
  auto ref = compile_asl(asl, flags);
  ASSERT_TRUE(ref.ok) << "iasl failed:\n" << ref.log;
  EXPECT_EQ(ours, ref.body) << "ASL: " << asl << "\nours:\n"
                            << hex(ours) << "\niasl:\n"
                            << hex(ref.body);
}

// A Name holding a resource template: iasl's bytes exactly (End Tag checksum 0 included).
void expect_template_same_as_iasl(const std::string& asl_items, const AmlBytes& ours) {
  expect_same_as_iasl("Name (RES, ResourceTemplate () {\n" + asl_items + "\n})", ours);
}

TEST(AmlVsIasl, Integers) {
  expect_same_as_iasl("Name (INT0, 0)", name("INT0", integer(0)));
  expect_same_as_iasl("Name (INT1, 1)", name("INT1", integer(1)));
  expect_same_as_iasl("Name (INTB, 0x7f)", name("INTB", integer(0x7f)));
  expect_same_as_iasl("Name (INTW, 0x1234)", name("INTW", integer(0x1234)));
  expect_same_as_iasl("Name (INTD, 0xdeadbeef)", name("INTD", integer(0xdeadbeef)));
  expect_same_as_iasl("Name (INTQ, 0x123456789a)", name("INTQ", integer(0x123456789a)));
  expect_same_as_iasl("Name (ALL1, 0xFFFFFFFFFFFFFFFF)", name("ALL1", integer(~uint64_t{0})));
}

TEST(AmlVsIasl, StringsAndEisaIds) {
  expect_same_as_iasl("Name (_HID, \"ACPI0007\")", name("_HID", string("ACPI0007")));
  expect_same_as_iasl("Name (_HID, EisaId (\"PNP0A03\"))", name("_HID", eisa_id("PNP0A03")));
  expect_same_as_iasl("Name (_HID, EisaId (\"PNP0B00\"))", name("_HID", eisa_id("PNP0B00")));
}

TEST(AmlVsIasl, PathsAsWritten) {
  // Root-relative dual and multi-segment paths and a parent prefix, kept as written (-on).
  expect_same_as_iasl(
      "Device (\\_SB.PCI0) { Name (_ADR, Zero) Device (SUB) { Name (_ADR, One) } }\n"
      "Device (\\_SB.PCI0.SUB.DEV) { Name (_ADR, 2) Name (^FOO, 3) }",
      concat({device("\\_SB.PCI0",
                     {name("_ADR", integer(0)), device("SUB", {name("_ADR", integer(1))})}),
              device("\\_SB.PCI0.SUB.DEV", {name("_ADR", integer(2)), name("^FOO", integer(3))})}),
      "-on");
  expect_same_as_iasl("Scope (\\) { Name (ROOT, 1) }", scope("\\", {name("ROOT", integer(1))}),
                      "-on");
}

TEST(AmlVsIasl, PackagesNested) {
  expect_same_as_iasl("Name (_S5, Package () { 5, 5, 0, 0 })",
                      name("_S5", package({integer(5), integer(5), integer(0), integer(0)})));
  expect_same_as_iasl(
      "Name (_PRT, Package () { Package () { 0x0001FFFF, 0, 0, 17 },"
      " Package () { 0x0001FFFF, 1, 0, 18 } })",
      name("_PRT", package({package({integer(0x1ffff), integer(0), integer(0), integer(17)}),
                            package({integer(0x1ffff), integer(1), integer(0), integer(18)})})));
}

TEST(AmlVsIasl, DeviceScopeAndMethods) {
  expect_same_as_iasl(
      "Scope (_SB) { Device (COM1) { Name (_HID, EisaId (\"PNP0501\")) Name (_UID, 1) } }",
      scope("_SB", {device("COM1", {name("_HID", eisa_id("PNP0501")), name("_UID", integer(1))})}));
  expect_same_as_iasl(
      "Method (_STA, 0, NotSerialized) { Return (0x0F) }",
      method("_STA", 0, MethodSerialization::kNotSerialized, {return_value(integer(0x0f))}));
  expect_same_as_iasl(
      "Method (FOO, 2, Serialized, 3) { Return (\"x\") }",
      method("FOO", 2, MethodSerialization::kSerialized, {return_value(string("x"))}, 3));
}

// Buffers of every size around the PkgLength boundaries, as iasl encodes them (with an explicit
// byte list: iasl leaves "Buffer (n) {}" for the interpreter to zero-fill).
TEST(AmlVsIasl, PkgLengthBoundariesInBuffers) {
  for (size_t n :
       {size_t{57}, size_t{58}, size_t{59}, size_t{60}, size_t{61}, size_t{62}, size_t{4087},
        size_t{4088}, size_t{4089}, size_t{4090}, size_t{4091}, size_t{4092}}) {
    std::vector<uint8_t> bytes(n);
    std::string list;
    for (size_t i = 0; i < n; ++i) {
      bytes[i] = static_cast<uint8_t>(i * 7);
      list += (i ? "," : "") + std::to_string(bytes[i]);
    }
    expect_same_as_iasl("Name (BUF, Buffer () {" + list + "})", name("BUF", buffer(bytes)));
  }
}

TEST(AmlVsIasl, LargeDevicePkgLength) {
  // A device body crossing 63 and 4095 bytes.
  for (int count : {5, 6, 7, 400, 409, 410}) {
    std::string asl = "Device (BIG) {";
    std::vector<AmlBytes> terms;
    for (int i = 0; i < count; ++i) {
      std::string nm = "N" + std::to_string(100 + i);  // N100..N509
      asl += " Name (" + nm + ", 0x12345678)";
      terms.push_back(name(nm, integer(0x12345678)));
    }
    expect_same_as_iasl(asl + " }", device("BIG", terms));
  }
}

TEST(AmlVsIasl, ResourceDescriptors) {
  expect_template_same_as_iasl("IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08, )",
                               name("RES", resource_template({io(0x3f8, 0x3f8, 0, 8)})));
  expect_template_same_as_iasl("FixedIO (0x0060, 0x01, )",
                               name("RES", resource_template({fixed_io(0x60, 1)})));
  expect_template_same_as_iasl("IRQNoFlags () {4}",
                               name("RES", resource_template({irq_no_flags(4)})));
  uint32_t gsis[] = {16, 17};
  expect_template_same_as_iasl(
      "Interrupt (ResourceConsumer, Level, ActiveLow, Shared, ,, ) {16, 17}",
      name("RES", resource_template(
                      {interrupt(Trigger::kLevel, Polarity::kActiveLow, Sharing::kShared, gsis)})));
  uint32_t one[] = {9};
  expect_template_same_as_iasl(
      "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, ) {9}",
      name("RES", resource_template({interrupt(Trigger::kEdge, Polarity::kActiveHigh,
                                               Sharing::kExclusive, one)})));
  expect_template_same_as_iasl(
      "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,"
      " 0x0000, 0x0000, 0x00FF, 0x0000, 0x0100, ,, )",
      name("RES", resource_template({word_bus_number(0, 0xff)})));
  expect_template_same_as_iasl(
      "WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,"
      " 0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300, ,, , TypeStatic, DenseTranslation)",
      name("RES", resource_template({word_io(0x0d00, 0xffff)})));
  expect_template_same_as_iasl(
      "DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,"
      " 0x00000000, 0xC0000000, 0xDFFFFFFF, 0x00000000, 0x20000000, ,, , AddressRangeMemory,"
      " TypeStatic)",
      name("RES",
           resource_template({dword_memory(Cacheability::kNonCacheable, 0xc0000000, 0xdfffffff)})));
  expect_template_same_as_iasl(
      "QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Prefetchable, ReadWrite,"
      " 0x0, 0x0000001000000000, 0x0000001FFFFFFFFF, 0x0, 0x0000001000000000, ,, ,"
      " AddressRangeMemory, TypeStatic)",
      name("RES", resource_template(
                      {qword_memory(Cacheability::kPrefetchable, 0x1000000000, 0x1fffffffff)})));
}

TEST(AmlVsIasl, ConsumerMemoryRanges) {
  expect_template_same_as_iasl(
      "DWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,"
      " 0x0, 0xE0000000, 0xEFFFFFFF, 0x0, 0x10000000, ,, , AddressRangeMemory, TypeStatic)",
      name("RES", resource_template({dword_memory(Cacheability::kCacheable, 0xe0000000, 0xefffffff,
                                                  ResourceUsage::kConsumer)})));
  expect_template_same_as_iasl(
      "QWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed, WriteCombining, ReadWrite,"
      " 0x0, 0x100000000, 0x1FFFFFFFF, 0x0, 0x100000000, ,, , AddressRangeMemory, TypeStatic)",
      name("RES", resource_template({qword_memory(Cacheability::kWriteCombining, 0x100000000,
                                                  0x1ffffffff, ResourceUsage::kConsumer)})));
}

TEST(AmlVsIasl, EmptyResourceTemplate) {
  expect_template_same_as_iasl("", name("RES", resource_template({})));
}

}  // namespace
}  // namespace vmkit::x86::acpi::aml
