#include "arch/x86_64/acpi/dsdt.h"

#include <fmt/format.h>

#include "arch/x86_64/acpi/aml_resources.h"
#include "arch/x86_64/acpi/madt.h"
#include "arch/x86_64/acpi/sdt.h"
#include "arch/x86_64/layout.h"

namespace vmkit::x86::acpi {

using namespace aml;  // NOLINT: the builder's vocabulary reads like ASL

namespace {

constexpr uint16_t kPciConfigPorts = 8;  // 0xCF8-0xCFF
constexpr uint8_t kCom1Ports = 8;
constexpr uint8_t kRtcPorts = 2;

}  // namespace

AmlBytes dsdt_sleep_states() {
  return name("\\_S5", package({integer(kAcpiS5SleepType), integer(kAcpiS5SleepType), integer(0),
                                integer(0)}));
}

AmlBytes dsdt_pci_routing(const PciIntxRouting& routing) {
  std::vector<AmlBytes> entries;
  for (uint32_t slot = 0; slot < routing.num_slots; ++slot) {
    for (uint32_t pin = 0; pin < 4; ++pin) {
      // { Address (device in the high word, any function), Pin, Source (none: a GSI), GSI }
      entries.push_back(package({integer(uint64_t{slot} << 16 | 0xffff), integer(pin), integer(0),
                                 integer(pci_intx_gsi(routing, slot, pin))}));
    }
  }
  return name("_PRT", package(entries));
}

AmlBytes dsdt_pci_root(const AcpiConfig& config) {
  const uint16_t cfg_port = kPciConfigAddressPort;
  const uint16_t cfg_end = static_cast<uint16_t>(cfg_port + kPciConfigPorts - 1);
  std::vector<AmlBytes> resources = {
      word_bus_number(0x00, 0xff),
      io(cfg_port, cfg_port, 0x01, static_cast<uint8_t>(kPciConfigPorts)),
      word_io(0x0000, static_cast<uint16_t>(cfg_port - 1)),
      word_io(static_cast<uint16_t>(cfg_end + 1), 0xffff),
      dword_memory(Cacheability::kNonCacheable, static_cast<uint32_t>(config.pci_mmio32_start),
                   static_cast<uint32_t>(config.pci_mmio32_start + config.pci_mmio32_size - 1)),
  };
  if (config.pci_mmio64_size != 0) {
    resources.push_back(qword_memory(Cacheability::kNonCacheable, config.pci_mmio64_start,
                                     config.pci_mmio64_start + config.pci_mmio64_size - 1));
  }

  std::vector<AmlBytes> terms;
  if (config.pci_ecam) {
    terms.push_back(name("_HID", eisa_id("PNP0A08")));  // PCI Express root
    terms.push_back(name("_CID", eisa_id("PNP0A03")));
  } else {
    terms.push_back(name("_HID", eisa_id("PNP0A03")));
  }
  terms.push_back(name("_SEG", integer(0)));
  terms.push_back(name("_BBN", integer(0)));
  terms.push_back(name("_UID", integer(0)));
  terms.push_back(name("_CRS", resource_template(resources)));
  if (config.pci_intx) terms.push_back(dsdt_pci_routing(*config.pci_intx));
  return device("PCI0", terms);
}

AmlBytes dsdt_legacy_devices() {
  return concat({
      device("COM1", {name("_HID", eisa_id("PNP0501")), name("_UID", integer(1)),
                      name("_CRS", resource_template({
                                       io(kCom1Port, kCom1Port, 0x00, kCom1Ports),
                                       irq_no_flags(static_cast<uint8_t>(kCom1Irq)),
                                   }))}),
      device("RTC", {name("_HID", eisa_id("PNP0B00")),
                     name("_CRS", resource_template({
                                      io(kRtcPort, kRtcPort, 0x01, kRtcPorts),
                                      irq_no_flags(static_cast<uint8_t>(kRtcIrq)),
                                  }))}),
  });
}

std::string processor_device_name(uint32_t index) {
  return fmt::format("C{:03X}", index);
}

AmlBytes dsdt_processors(const AcpiConfig& config) {
  std::vector<AmlBytes> devices;
  devices.reserve(config.num_cpus);
  for (uint32_t i = 0; i < config.num_cpus; ++i) {
    devices.push_back(device(processor_device_name(i), {name("_HID", string("ACPI0007")),
                                                        name("_UID", integer(processor_uid(i)))}));
  }
  return concat(devices);
}

namespace {

// A motherboard resource device reserving the ECAM window, so Linux trusts the MCFG region.
AmlBytes dsdt_ecam_reservation() {
  AmlBytes ecam = dword_memory(Cacheability::kNonCacheable, static_cast<uint32_t>(kPciEcamStart),
                               static_cast<uint32_t>(kPciEcamStart + kPciEcamSize - 1),
                               ResourceUsage::kConsumer);
  return device("MRES", {name("_HID", eisa_id("PNP0C02")), name("_UID", integer(0)),
                         name("_CRS", resource_template({ecam}))});
}

}  // namespace

std::vector<uint8_t> build_dsdt(const AcpiConfig& config) {
  std::vector<AmlBytes> sb = {dsdt_pci_root(config), dsdt_legacy_devices(),
                              dsdt_processors(config)};
  if (config.pci_ecam) sb.push_back(dsdt_ecam_reservation());
  AmlBytes body = concat({dsdt_sleep_states(), scope("\\_SB", sb)});
  return make_table("DSDT", kDsdtRevision, body);
}

}  // namespace vmkit::x86::acpi
