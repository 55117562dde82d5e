// Monitor start-up with a tiny guest, natively on this machine's KVM: time from exec to the
// guest's first byte on the serial console, time to process exit after the guest powers off,
// and peak RSS; vmkit vs QEMU (-M microvm, the leanest QEMU machine, same PVH payload). QEMU's
// microvm has no ACPI PM block, so its run is stopped after the first output; its peak RSS is
// read from /proc before that. Prints medians of N runs and the vmkit/QEMU ratios.
//
// Usage: bench_startup [runs=11]
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "subprocess.h"

using namespace std::chrono;
using vmkit::test::Subprocess;

namespace {

struct Sample {
  double first_output_ms = 0;
  double exit_ms = 0;
  double peak_rss_kib = 0;
  double guest_rss_kib = 0;  // resident part of the guest-RAM mapping
};

constexpr uint64_t kGuestBytes = 64ull << 20;

double vm_hwm_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6));
  }
  return 0;
}

// Resident KiB of the anonymous mappings at least as large as guest RAM: the guest's memory,
// which the target "monitor RSS < 4 MiB beyond the guest memory touched" excludes. With
// transparent huge pages each first touch of a 2 MiB region counts 2 MiB.
double guest_rss_kib(pid_t pid) {
  std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
  std::string line;
  bool guest = false;
  double kib = 0;
  while (std::getline(smaps, line)) {
    unsigned long long lo = 0, hi = 0;
    char path[512] = {};
    if (std::sscanf(line.c_str(), "%llx-%llx %*s %*s %*s %*s %511s", &lo, &hi, path) >= 2) {
      guest = hi - lo >= kGuestBytes && path[0] == 0;
    } else if (guest && line.rfind("Rss:", 0) == 0) {
      kib += std::stod(line.substr(4));
    }
  }
  return kib;
}

Sample run_once(const std::vector<std::string>& argv, const std::string& marker, bool wait_exit) {
  Sample s;
  auto start = steady_clock::now();
  Subprocess p(argv);
  p.close_stdin();
  if (!p.wait_for_output(marker, seconds(20))) {
    std::fprintf(stderr, "no guest output from %s:\n%s\n", argv[0].c_str(), p.tail().c_str());
    std::exit(1);
  }
  s.first_output_ms = duration<double, std::milli>(steady_clock::now() - start).count();
  s.peak_rss_kib = vm_hwm_kib(p.pid());
  s.guest_rss_kib = guest_rss_kib(p.pid());
  if (wait_exit) {
    auto code = p.wait(seconds(20));
    s.exit_ms = duration<double, std::milli>(steady_clock::now() - start).count();
    if (code != 0) {
      std::fprintf(stderr, "%s exited with %d\n", argv[0].c_str(), code.value_or(-1));
      std::exit(1);
    }
  } else {
    p.send_signal(SIGKILL);
    (void)p.wait(seconds(5));
  }
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 11;
  const std::string marker = "vmkit native payload: hello";
  std::vector<std::string> vmkit = {VMKIT_BINARY, "run", "--kernel", PAYLOAD, "--memory", "64M"};
  std::vector<std::string> qemu = {"qemu-system-x86_64",
                                   "-accel",
                                   "kvm",
                                   "-M",
                                   "microvm",
                                   "-cpu",
                                   "host",
                                   "-m",
                                   "64",
                                   "-smp",
                                   "1",
                                   "-nodefaults",
                                   "-no-user-config",
                                   "-nographic",
                                   "-serial",
                                   "stdio",
                                   "-no-reboot",
                                   "-kernel",
                                   PAYLOAD};
  std::vector<double> v_first, v_exit, v_rss, v_monitor, q_first, q_rss, q_monitor;
  for (int i = 0; i < runs; ++i) {
    // Interleave the two so machine noise hits both alike.
    Sample v = run_once(vmkit, marker, true);
    Sample q = run_once(qemu, marker, false);
    v_first.push_back(v.first_output_ms);
    v_exit.push_back(v.exit_ms);
    v_rss.push_back(v.peak_rss_kib);
    v_monitor.push_back(v.peak_rss_kib - v.guest_rss_kib);
    q_first.push_back(q.first_output_ms);
    q_rss.push_back(q.peak_rss_kib);
    q_monitor.push_back(q.peak_rss_kib - q.guest_rss_kib);
  }
  // vmkit's VmHWM is read at first output; the whole-run peak comes from the kernel after exit.
  std::printf("tiny PVH guest, %d runs each, medians (machine: %ld CPUs)\n", runs,
              sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("%-34s %10s %10s %8s\n", "", "vmkit", "qemu", "ratio");
  std::printf("%-34s %10.1f %10.1f %8.2f\n", "start to first guest output (ms)", median(v_first),
              median(q_first), median(v_first) / median(q_first));
  std::printf("%-34s %10.1f %10s\n", "start to exit after poweroff (ms)", median(v_exit), "n/a");
  std::printf("%-34s %10.0f %10.0f %8.2f\n", "peak RSS at first output (KiB)", median(v_rss),
              median(q_rss), median(v_rss) / median(q_rss));
  std::printf("%-34s %10.0f %10.0f %8.2f\n", "  of which beyond guest RAM (KiB)", median(v_monitor),
              median(q_monitor), median(v_monitor) / median(q_monitor));
  return 0;
}
