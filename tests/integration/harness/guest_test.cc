#include "guest_test.h"

#include <fmt/format.h>
#include <cstdlib>

namespace vmkit::guest_test {

Result<long long> parse_integer(const std::string& text, const std::string& what) {
  std::size_t start = text.find_first_of("-0123456789");
  if (start != std::string::npos) {
    char* end = nullptr;
    long long value = std::strtoll(text.c_str() + start, &end, 10);
    if (end != text.c_str() + start) return value;
  }
  return Error(fmt::format("expected a number for {}, the guest printed \"{}\"", what, text));
}

Result<GuestFacts> read_guest_facts(GuestProcess& guest) {
  GuestFacts facts;
  auto nproc = TRY(guest.run_ok("nproc", kCommandTimeout));
  facts.nproc = static_cast<unsigned>(TRY(parse_integer(nproc, "nproc")));
  auto mem = TRY(guest.run_ok("awk '/^MemTotal:/ { print $2 }' /proc/meminfo", kCommandTimeout));
  facts.mem_total_kib = static_cast<std::uint64_t>(TRY(parse_integer(mem, "MemTotal")));
  auto clock = TRY(guest.run_ok(
      "cat /sys/devices/system/clocksource/clocksource0/current_clocksource", kCommandTimeout));
  facts.clocksource = clock.substr(0, clock.find('\n'));
  auto date = TRY(guest.run_ok("date +%s", kCommandTimeout));
  facts.epoch_seconds = TRY(parse_integer(date, "date +%s"));
  return facts;
}

void expect_memory_matches(std::uint64_t mem_total_kib, std::uint64_t memory_mib) {
  std::uint64_t given_kib = memory_mib * 1024;
  std::uint64_t slack_kib = given_kib * 15 / 100 + 16 * 1024;
  EXPECT_LE(mem_total_kib, given_kib) << "MemTotal exceeds the memory given";
  EXPECT_GE(mem_total_kib, given_kib - slack_kib)
      << "MemTotal " << mem_total_kib << " KiB is far below the " << memory_mib << " MiB given";
}

}  // namespace vmkit::guest_test
