#include "arch/x86_64/cpuid.h"

#include <gtest/gtest.h>

#include <cstring>

namespace vmkit::x86 {
namespace {

kvm_cpuid_entry2 leaf(uint32_t fn, uint32_t index = 0, bool indexed = false) {
  kvm_cpuid_entry2 e{};
  e.function = fn;
  e.index = index;
  e.flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
  return e;
}

CpuidEntries fake_supported(const char* vendor) {
  CpuidEntries s;
  auto l0 = leaf(0);
  std::memcpy(&l0.ebx, vendor, 4);
  std::memcpy(&l0.edx, vendor + 4, 4);
  std::memcpy(&l0.ecx, vendor + 8, 4);
  s.push_back(l0);
  auto l1 = leaf(1);
  l1.ebx = 0x00000800;  // CLFLUSH size
  l1.edx = 1u << 28;
  s.push_back(l1);
  s.push_back(leaf(4, 0, true));
  s.push_back(leaf(0xb, 0, true));
  s.push_back(leaf(0xb, 1, true));
  s.push_back(leaf(0x80000001));
  s.push_back(leaf(0x80000008));
  s.push_back(leaf(0x8000001e));
  auto kvm = leaf(0x40000000);
  kvm.eax = 0x40000001;
  std::memcpy(&kvm.ebx, "KVMKVMKVM\0\0\0", 12);
  s.push_back(kvm);
  return s;
}

TEST(Cpuid, TopologyIntel) {
  auto s = fake_supported("GenuineIntel");
  EXPECT_EQ(cpu_vendor(s), CpuVendor::kIntel);
  auto c = build_vcpu_cpuid(s, 2, 4);
  auto* l1 = find_cpuid(c, 1);
  EXPECT_EQ(l1->ebx >> 24, 2u);                // APIC ID
  EXPECT_EQ((l1->ebx >> 16) & 0xff, 4u);       // logical processors per package
  EXPECT_EQ(l1->ebx & 0xffff, 0x0800u);        // preserved
  EXPECT_TRUE(l1->ecx & (1u << 31));           // hypervisor
  EXPECT_TRUE(l1->edx & (1u << 28));           // HTT
  EXPECT_EQ(find_cpuid(c, 4)->eax >> 26, 3u);  // cores - 1
  auto* smt = find_cpuid(c, 0xb, 0);
  auto* core = find_cpuid(c, 0xb, 1);
  EXPECT_EQ(smt->ebx, 1u);
  EXPECT_EQ(core->ebx, 4u);
  EXPECT_EQ(core->eax, 2u);            // shift to the package ID
  EXPECT_EQ(core->edx, 2u);            // x2APIC ID
  EXPECT_FALSE(l1->ecx & (1u << 24));  // TSC deadline only when asked
  EXPECT_TRUE(find_cpuid(build_vcpu_cpuid(s, 0, 1, {.tsc_deadline = true}), 1)->ecx & (1u << 24));
  // The paravirt leaves pass through.
  EXPECT_NE(find_cpuid(c, 0x40000000), nullptr);
}

TEST(Cpuid, TopologyAmdAndSingleCpu) {
  auto s = fake_supported("AuthenticAMD");
  EXPECT_EQ(cpu_vendor(s), CpuVendor::kAmd);
  auto c = build_vcpu_cpuid(s, 1, 3);
  EXPECT_EQ(find_cpuid(c, 0x80000008)->ecx & 0xff, 2u);
  EXPECT_EQ((find_cpuid(c, 0x80000008)->ecx >> 12) & 0xf, 2u);
  EXPECT_TRUE(find_cpuid(c, 0x80000001)->ecx & 2u);  // CmpLegacy
  EXPECT_EQ(find_cpuid(c, 0x8000001e)->eax, 1u);
  auto one = build_vcpu_cpuid(s, 0, 1);
  EXPECT_FALSE(find_cpuid(one, 1)->edx & (1u << 28));
  EXPECT_FALSE(find_cpuid(one, 0x80000001)->ecx & 2u);
  EXPECT_EQ((find_cpuid(one, 1)->ebx >> 16) & 0xff, 1u);
}

}  // namespace
}  // namespace vmkit::x86
