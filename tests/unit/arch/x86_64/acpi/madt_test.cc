// The MADT's entries for different CPU counts and APIC id layouts.
#include "arch/x86_64/acpi/madt.h"

#include <gtest/gtest.h>

#include <map>

#include "arch/x86_64/acpi/sdt.h"
#include "arch/x86_64/layout.h"
#include "table_util.h"

namespace vmkit::x86::acpi {
namespace {

struct ParsedMadt {
  uint32_t lapic_address = 0;
  uint32_t flags = 0;
  std::vector<MadtLocalApic> lapics;
  std::vector<MadtLocalX2Apic> x2apics;
  std::vector<MadtIoApic> ioapics;
  std::vector<MadtInterruptOverride> overrides;
  std::vector<MadtLocalApicNmi> nmis;
  std::vector<MadtLocalX2ApicNmi> x2nmis;
  bool well_formed = true;
};

ParsedMadt parse(const std::vector<uint8_t>& t) {
  ParsedMadt m;
  auto h = read_obj<SdtHeader>(t);
  EXPECT_EQ(v(h.length), t.size());
  EXPECT_EQ(std::string_view(h.signature, 4), "APIC");
  EXPECT_TRUE(checksum_ok(t));
  m.lapic_address = read_obj<uint32_t>(t, 36);
  m.flags = read_obj<uint32_t>(t, 40);
  size_t at = 44;
  while (at + 2 <= t.size()) {
    uint8_t type = t[at], len = t[at + 1];
    if (len < 2 || at + len > t.size()) {
      m.well_formed = false;
      break;
    }
    auto expect_len = [&](size_t want) {
      EXPECT_EQ(len, want) << "type " << int{type};
      return len == want;
    };
    switch (type) {
      case kMadtTypeLocalApic:
        if (expect_len(8)) m.lapics.push_back(read_obj<MadtLocalApic>(t, at));
        break;
      case kMadtTypeIoApic:
        if (expect_len(12)) m.ioapics.push_back(read_obj<MadtIoApic>(t, at));
        break;
      case kMadtTypeInterruptOverride:
        if (expect_len(10)) m.overrides.push_back(read_obj<MadtInterruptOverride>(t, at));
        break;
      case kMadtTypeLocalApicNmi:
        if (expect_len(6)) m.nmis.push_back(read_obj<MadtLocalApicNmi>(t, at));
        break;
      case kMadtTypeLocalX2Apic:
        if (expect_len(16)) m.x2apics.push_back(read_obj<MadtLocalX2Apic>(t, at));
        break;
      case kMadtTypeLocalX2ApicNmi:
        if (expect_len(12)) m.x2nmis.push_back(read_obj<MadtLocalX2ApicNmi>(t, at));
        break;
      default:
        ADD_FAILURE() << "unexpected MADT entry type " << int{type};
    }
    at += len;
  }
  EXPECT_EQ(at, t.size());
  return m;
}

class MadtForCpus : public ::testing::TestWithParam<uint32_t> {};

TEST_P(MadtForCpus, OneEnabledEntryPerCpuAndTheFixedEntries) {
  const uint32_t n = GetParam();
  AcpiConfig c;
  c.num_cpus = n;
  ParsedMadt m = parse(build_madt(c));
  ASSERT_TRUE(m.well_formed);
  EXPECT_EQ(v(m.lapic_address), kLapicAddress);
  EXPECT_EQ(v(m.flags), kMadtPcatCompat);

  // Identity APIC ids: 0-254 in Local APIC entries, the rest in Local x2APIC entries.
  ASSERT_EQ(m.lapics.size(), std::min(n, 255u));
  ASSERT_EQ(m.x2apics.size(), n > 255 ? n - 255 : 0);
  for (uint32_t i = 0; i < m.lapics.size(); ++i) {
    EXPECT_EQ(v(m.lapics[i].apic_id), i);
    EXPECT_EQ(v(m.lapics[i].processor_uid), i);
    EXPECT_EQ(v(m.lapics[i].flags), kMadtProcessorEnabled);
  }
  for (uint32_t i = 0; i < m.x2apics.size(); ++i) {
    EXPECT_EQ(v(m.x2apics[i].x2apic_id), 255 + i);
    EXPECT_EQ(v(m.x2apics[i].processor_uid), 255 + i);
    EXPECT_EQ(v(m.x2apics[i].flags), kMadtProcessorEnabled);
  }

  ASSERT_EQ(m.ioapics.size(), 1u);
  EXPECT_EQ(v(m.ioapics[0].address), kIoapicAddress);
  EXPECT_EQ(v(m.ioapics[0].gsi_base), 0u);
  EXPECT_EQ(v(m.ioapics[0].ioapic_id), n < 255 ? n : 0);

  // Only the SCI is overridden: level, active-high. No override for IRQ 0.
  ASSERT_EQ(m.overrides.size(), 1u);
  EXPECT_EQ(v(m.overrides[0].bus), 0);
  EXPECT_EQ(v(m.overrides[0].source), kAcpiSciIrq);
  EXPECT_EQ(v(m.overrides[0].gsi), kAcpiSciIrq);
  EXPECT_EQ(v(m.overrides[0].flags), 0x000d);

  ASSERT_EQ(m.nmis.size(), 1u);
  EXPECT_EQ(v(m.nmis[0].processor_uid), 0xff);
  EXPECT_EQ(v(m.nmis[0].lint), 1);
  ASSERT_EQ(m.x2nmis.size(), n > 255 ? 1u : 0u);
  if (!m.x2nmis.empty()) {
    EXPECT_EQ(v(m.x2nmis[0].processor_uid), 0xffffffffu);
    EXPECT_EQ(v(m.x2nmis[0].lint), 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Counts, MadtForCpus,
                         ::testing::Values(1u, 2u, 4u, 254u, 255u, 256u, 300u));

TEST(Madt, ExplicitApicIdsAreUsedInCpuOrder) {
  AcpiConfig c;
  c.num_cpus = 4;
  c.apic_ids = {0, 2, 4, 6};  // e.g. 2 threads per core with one thread each
  ParsedMadt m = parse(build_madt(c));
  ASSERT_EQ(m.lapics.size(), 4u);
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(v(m.lapics[i].processor_uid), i);
    EXPECT_EQ(v(m.lapics[i].apic_id), 2 * i);
  }
}

TEST(Madt, LargeApicIdGetsAnX2ApicEntryEvenForEarlyCpus) {
  AcpiConfig c;
  c.num_cpus = 3;
  c.apic_ids = {0, 0x100, 0xff};  // 0xff is the xAPIC broadcast id
  ParsedMadt m = parse(build_madt(c));
  ASSERT_EQ(m.lapics.size(), 1u);
  ASSERT_EQ(m.x2apics.size(), 2u);
  EXPECT_EQ(v(m.x2apics[0].x2apic_id), 0x100u);
  EXPECT_EQ(v(m.x2apics[0].processor_uid), 1u);
  EXPECT_EQ(v(m.x2apics[1].x2apic_id), 0xffu);
  EXPECT_EQ(v(m.x2apics[1].processor_uid), 2u);
  EXPECT_EQ(m.x2nmis.size(), 1u);
}

}  // namespace
}  // namespace vmkit::x86::acpi
