// The SMBIOS tables' structure, read back the way a consumer walks them.
#include "arch/x86_64/smbios/smbios.h"

#include <gtest/gtest.h>

#include <set>

#include "smbios_reader.h"

namespace vmkit::x86::smbios {
namespace {

using testing::parse_table;
using testing::Structure;

template <typename T>
T v(T value) {  // copies a packed field so gtest does not bind a reference to it
  return value;
}

SmbiosConfig base_config() {
  SmbiosConfig c;
  c.uuid = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  c.product_name = "test-vm";
  c.serial_number = "SER-42";
  c.version = "0.1";
  c.ram = {{0, 512ull << 20}};
  return c;
}

const Structure* find(const std::vector<Structure>& all, uint8_t type, size_t nth = 0) {
  for (const auto& s : all) {
    if (s.type == type && nth-- == 0) return &s;
  }
  return nullptr;
}

TEST(Smbios, EntryPoint) {
  auto t = build_smbios_tables(base_config());
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->base.value(), kSmbiosStart);
  EntryPoint64 ep;
  ASSERT_GE(t->bytes.size(), sizeof(ep));
  std::memcpy(&ep, t->bytes.data(), sizeof(ep));
  EXPECT_EQ(std::string(ep.anchor, 5), "_SM3_");
  EXPECT_EQ(ep.length, 0x18);
  EXPECT_EQ(ep.major, 3);
  EXPECT_EQ(ep.minor, 0);
  EXPECT_EQ(ep.revision, 1);
  EXPECT_EQ(v(ep.table_address), t->table.value());
  EXPECT_EQ(v(ep.table_max_size), t->table_length);
  uint8_t sum = 0;
  for (size_t i = 0; i < ep.length; ++i) sum = static_cast<uint8_t>(sum + t->bytes[i]);
  EXPECT_EQ(sum, 0);
  EXPECT_EQ(kSmbiosStart % 16, 0u);  // Linux scans 16-byte boundaries
}

TEST(Smbios, StructuresInOrderWithUniqueHandles) {
  SmbiosConfig c = base_config();
  c.sockets = 2;
  c.ram = {{0, 3ull << 30}, {4ull << 30, 1ull << 30}};
  auto t = build_smbios_tables(c);
  ASSERT_TRUE(t.ok());
  auto all = parse_table(*t);
  std::vector<int> types;
  std::set<uint16_t> handles;
  for (const auto& s : all) {
    types.push_back(s.type);
    EXPECT_TRUE(handles.insert(s.handle).second) << "duplicate handle " << s.handle;
  }
  EXPECT_EQ(types, (std::vector<int>{0, 1, 3, 4, 4, 16, 17, 19, 19, 32, 127}));
  EXPECT_EQ(t->structure_count, all.size());
}

TEST(Smbios, SystemInformation) {
  auto t = build_smbios_tables(base_config());
  ASSERT_TRUE(t.ok());
  auto all = parse_table(*t);
  const Structure* s = find(all, kTypeSystem);
  ASSERT_NE(s, nullptr);
  auto info = s->as<SystemInfo>();
  EXPECT_EQ(s->string(info.manufacturer), "vmkit");
  EXPECT_EQ(s->string(info.product_name), "test-vm");
  EXPECT_EQ(s->string(info.serial_number), "SER-42");
  EXPECT_EQ(s->string(info.version), "0.1");
  // First three UUID fields little-endian (SMBIOS 2.6+), the rest as printed.
  const uint8_t expected[16] = {0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd,
                                0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  EXPECT_EQ(std::memcmp(info.uuid, expected, 16), 0);
}

TEST(Smbios, EmptySerialIsNoString) {
  SmbiosConfig c = base_config();
  c.serial_number = "";
  auto t = build_smbios_tables(c);
  ASSERT_TRUE(t.ok());
  auto all = parse_table(*t);
  EXPECT_EQ(find(all, kTypeSystem)->as<SystemInfo>().serial_number, 0);
}

struct Topology {
  uint32_t sockets, cores, threads;
};

class SmbiosProcessors : public ::testing::TestWithParam<Topology> {};

TEST_P(SmbiosProcessors, OnePerSocketWithCounts) {
  SmbiosConfig c = base_config();
  c.sockets = GetParam().sockets;
  c.cores_per_socket = GetParam().cores;
  c.threads_per_core = GetParam().threads;
  c.cpuid_signature = 0x000a0f11;
  c.cpu_version = "AMD EPYC";
  auto t = build_smbios_tables(c);
  ASSERT_TRUE(t.ok()) << t.error().message();
  auto all = parse_table(*t);
  for (uint32_t i = 0; i < c.sockets; ++i) {
    const Structure* s = find(all, kTypeProcessor, i);
    ASSERT_NE(s, nullptr) << i;
    auto p = s->as<Processor>();
    EXPECT_EQ(s->string(p.socket_designation), "CPU " + std::to_string(i));
    EXPECT_EQ(s->string(p.version), "AMD EPYC");
    EXPECT_EQ(v(p.id_eax), 0x000a0f11u);
    uint32_t threads = c.cores_per_socket * c.threads_per_core;
    EXPECT_EQ(v(p.core_count2), c.cores_per_socket);
    EXPECT_EQ(v(p.thread_count2), threads);
    EXPECT_EQ(p.core_count, std::min(c.cores_per_socket, 255u));
    EXPECT_EQ(p.thread_count, std::min(threads, 255u));
    EXPECT_EQ(p.status, 0x41);
  }
  EXPECT_EQ(find(all, kTypeProcessor, c.sockets), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Topologies, SmbiosProcessors,
                         ::testing::Values(Topology{1, 1, 1}, Topology{2, 4, 2},
                                           Topology{1, 300, 1}, Topology{4, 64, 2}));

TEST(Smbios, MemorySizes) {
  SmbiosConfig c = base_config();
  c.ram = {{0, 3ull << 30}, {4ull << 30, 61ull << 30}};  // 64 GiB
  auto t = build_smbios_tables(c);
  ASSERT_TRUE(t.ok());
  auto all = parse_table(*t);
  auto array = find(all, kTypeMemoryArray)->as<MemoryArray>();
  EXPECT_EQ(v(array.maximum_capacity_kb), 64u << 20);
  EXPECT_EQ(v(array.number_of_devices), 1);
  auto dev = find(all, kTypeMemoryDevice)->as<MemoryDevice>();
  EXPECT_EQ(v(dev.size), 0x7fff);  // 65536 MiB does not fit 15 bits
  EXPECT_EQ(v(dev.extended_size), 65536u);
  EXPECT_EQ(v(dev.array_handle), find(all, kTypeMemoryArray)->handle);
  auto low = find(all, kTypeMemoryArrayMappedAddress, 0)->as<MemoryArrayMappedAddress>();
  EXPECT_EQ(v(low.starting_address_kb), 0u);
  EXPECT_EQ(v(low.ending_address_kb), (3u << 20) - 1);
  auto high = find(all, kTypeMemoryArrayMappedAddress, 1)->as<MemoryArrayMappedAddress>();
  EXPECT_EQ(v(high.starting_address_kb), 4u << 20);
  EXPECT_EQ(v(high.ending_address_kb), (65u << 20) - 1);
}

TEST(Smbios, HugeMemoryUsesExtendedFields) {
  SmbiosConfig c = base_config();
  c.ram = {{0, 3ull << 30}, {4ull << 30, 5ull << 40}};  // ends above 4 TiB
  auto t = build_smbios_tables(c);
  ASSERT_TRUE(t.ok());
  auto all = parse_table(*t);
  auto array = find(all, kTypeMemoryArray)->as<MemoryArray>();
  EXPECT_EQ(v(array.maximum_capacity_kb), 0x80000000u);
  EXPECT_EQ(v(array.extended_maximum_capacity), (3ull << 30) + (5ull << 40));
  auto high = find(all, kTypeMemoryArrayMappedAddress, 1)->as<MemoryArrayMappedAddress>();
  EXPECT_EQ(v(high.starting_address_kb), 0xffffffffu);
  EXPECT_EQ(v(high.extended_starting_address), 4ull << 30);
  EXPECT_EQ(v(high.extended_ending_address), (4ull << 30) + (5ull << 40) - 1);
}

TEST(Smbios, InvalidConfigsAreErrors) {
  auto expect_error = [](SmbiosConfig c, std::string_view what) {
    auto r = build_smbios_tables(c);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_NE(r.error().message().find(what), std::string::npos) << r.error().message();
  };
  SmbiosConfig c = base_config();
  c.product_name = std::string(65, 'x');
  expect_error(c, "product name is 65 bytes");
  c = base_config();
  c.serial_number = "a\nb";
  expect_error(c, "not printable ASCII");
  c = base_config();
  c.sockets = 0;
  expect_error(c, "topology 0 sockets");
  c = base_config();
  c.sockets = 64;
  c.cores_per_socket = 65;
  expect_error(c, "1-4096 CPUs");
  c = base_config();
  c.ram = {};
  expect_error(c, "no RAM");
  c.ram = {{~0ull - 10, 4096}};
  expect_error(c, "bad RAM range");
}

TEST(Smbios, WriteIntoGuestMemory) {
  auto mem = GuestMemory::create({{GuestAddress(0), 1 << 20}});
  ASSERT_TRUE(mem.ok());
  ASSERT_TRUE(mem->fill(GuestAddress(kSmbiosStart), 0xcc, kSmbiosMaxSize).ok());
  auto ep = write_smbios_tables(*mem, base_config());
  ASSERT_TRUE(ep.ok()) << ep.error().message();
  EXPECT_EQ(ep->value(), kSmbiosStart);
  auto tables = build_smbios_tables(base_config());
  ASSERT_TRUE(tables.ok());
  std::vector<uint8_t> area(kSmbiosMaxSize);
  ASSERT_TRUE(mem->read(GuestAddress(kSmbiosStart), area).ok());
  EXPECT_TRUE(std::equal(tables->bytes.begin(), tables->bytes.end(), area.begin()));
  for (size_t i = tables->bytes.size(); i < area.size(); ++i) ASSERT_EQ(area[i], 0) << i;

  auto small = GuestMemory::create({{GuestAddress(0), 0x80000}});
  ASSERT_TRUE(small.ok());
  auto r = write_smbios_tables(*small, base_config());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("writing SMBIOS tables"), std::string::npos);
}

}  // namespace
}  // namespace vmkit::x86::smbios
