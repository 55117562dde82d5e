#include "base/log.h"

#include <unistd.h>

#include <mutex>
#include <string>

namespace vmkit::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};
std::mutex g_write_mutex;

const char* level_name(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "?";
}
}  // namespace

void set_level(Level level) {
  g_level.store(level);
}
Level level() {
  return g_level.load(std::memory_order_relaxed);
}

void write(Level lvl, std::string_view message) {
  std::string line = "vmkit: ";
  if (lvl != Level::kInfo) {
    line += level_name(lvl);
    line += ": ";
  }
  line += message;
  // The serial console may have put the terminal in raw mode: end lines with CR LF there.
  line += isatty(STDERR_FILENO) ? "\r\n" : "\n";
  std::lock_guard lock(g_write_mutex);
  ssize_t unused = ::write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
}

bool RateLimiter::allow() {
  using namespace std::chrono;
  long long now = duration_cast<seconds>(steady_clock::now().time_since_epoch()).count();
  long long window = window_.load(std::memory_order_relaxed);
  if (window != now && window_.compare_exchange_strong(window, now)) {
    count_.store(0, std::memory_order_relaxed);
  }
  return count_.fetch_add(1, std::memory_order_relaxed) < per_second_;
}

}  // namespace vmkit::log
