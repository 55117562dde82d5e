#include "kvm/host_check.h"

#include <linux/kvm.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "kvm/kvm.h"

namespace vmkit {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

struct NeededCap {
  unsigned cap;
  const char* name;
};
constexpr NeededCap kNeededCaps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR"},
};

}  // namespace

std::vector<std::string> parse_cpu_flags(std::string_view cpuinfo) {
  std::vector<std::string> flags;
  size_t pos = 0;
  while (pos < cpuinfo.size()) {
    size_t end = cpuinfo.find('\n', pos);
    if (end == std::string_view::npos) end = cpuinfo.size();
    std::string_view line = cpuinfo.substr(pos, end - pos);
    pos = end + 1;
    if (line.substr(0, 5) != "flags") continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::istringstream words(std::string(line.substr(colon + 1)));
    std::string w;
    while (words >> w) flags.push_back(w);
    break;
  }
  return flags;
}

const char* status_name(HostCheck::Status status) {
  switch (status) {
    case HostCheck::Status::kPass:
      return "PASS";
    case HostCheck::Status::kWarn:
      return "WARN";
    case HostCheck::Status::kFail:
      return "FAIL";
    case HostCheck::Status::kInfo:
      return "INFO";
  }
  return "?";
}

std::vector<HostCheck> run_host_checks(const char* kvm_path) {
  using S = HostCheck::Status;
  std::vector<HostCheck> checks;
  auto flags = parse_cpu_flags(read_text("/proc/cpuinfo"));
  auto has = [&](const char* f) { return std::find(flags.begin(), flags.end(), f) != flags.end(); };
  bool vmx = has("vmx"), svm = has("svm");
  bool pvm = exists("/sys/module/kvm_pvm");

  if (vmx || svm) {
    checks.push_back({"hardware_virtualization", "Checking for hardware virtualization", S::kPass,
                      vmx ? "Intel VT-x (vmx)" : "AMD-V (svm)"});
  } else if (pvm) {
    checks.push_back({"hardware_virtualization", "Checking for hardware virtualization", S::kWarn,
                      "none; this host's KVM is PVM (kvm_pvm), which runs only guest kernels "
                      "built for PVM"});
  } else {
    checks.push_back({"hardware_virtualization", "Checking for hardware virtualization", S::kFail,
                      "no vmx/svm flag: enable VT-x/AMD-V in the firmware"});
  }
  std::string module = exists("/sys/module/kvm_intel") ? "kvm_intel"
                       : exists("/sys/module/kvm_amd") ? "kvm_amd"
                       : pvm                           ? "kvm_pvm"
                                                       : "";
  checks.push_back({"kvm_module", "Checking if a KVM module is loaded",
                    module.empty() ? S::kFail : S::kPass,
                    module.empty() ? "none: modprobe kvm_intel or kvm_amd" : module});
  checks.push_back({"pvm", "Checking for PVM (software virtualization)", S::kInfo,
                    pvm ? "yes (kvm_pvm): stock kernels cannot boot here" : "no"});
  if (!module.empty() && module != "kvm_pvm") {
    std::string nested = read_text("/sys/module/" + module + "/parameters/nested");
    bool on = nested == "Y" || nested == "1";
    checks.push_back({"nested", "Checking for nested virtualization", on ? S::kPass : S::kInfo,
                      on ? "enabled" : "disabled (" + module + " nested=" + nested + ")"});
  }

  auto kvm = Kvm::open(kvm_path);
  if (!kvm.ok()) {
    checks.push_back({"kvm_device", std::string("Checking if ") + kvm_path + " is accessible",
                      S::kFail, kvm.error().message()});
    return checks;
  }
  checks.push_back({"kvm_device", std::string("Checking if ") + kvm_path + " is accessible",
                    S::kPass, "read/write"});
  checks.push_back({"kvm_api_version", "Checking the KVM API version", S::kPass,
                    std::to_string(kvm->api_version())});
  std::string missing;
  for (const auto& c : kNeededCaps) {
    if (kvm->check_extension(c.cap) <= 0)
      missing += std::string(missing.empty() ? "" : ", ") + c.name;
  }
  checks.push_back({"kvm_capabilities", "Checking the KVM capabilities vmkit needs",
                    missing.empty() ? S::kPass : S::kFail,
                    missing.empty() ? "all present" : "missing: " + missing});
  checks.push_back({"max_vcpus", "Checking the vCPUs KVM allows per VM", S::kInfo,
                    std::to_string(kvm->max_vcpus())});
  checks.push_back({"tun", "Checking for /dev/net/tun (tap networking)",
                    exists("/dev/net/tun") ? S::kPass : S::kWarn,
                    exists("/dev/net/tun") ? "present" : "missing: modprobe tun"});
  return checks;
}

bool host_can_run_vms(const std::vector<HostCheck>& checks) {
  return std::none_of(checks.begin(), checks.end(),
                      [](const HostCheck& c) { return c.status == HostCheck::Status::kFail; });
}

}  // namespace vmkit
