// Minimal leveled logging to stderr. Guest-caused conditions use VMKIT_LOG_RATELIMITED so a
// hostile guest cannot flood the host's log.
#pragma once

#include <fmt/format.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string_view>

namespace vmkit::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_level(Level level);
Level level();
void write(Level level, std::string_view message);

// Returns true at most `per_second` times per second per call site.
class RateLimiter {
 public:
  explicit RateLimiter(int per_second) : per_second_(per_second) {}
  bool allow();

 private:
  int per_second_;
  std::atomic<long long> window_{0};
  std::atomic<int> count_{0};
};

}  // namespace vmkit::log

#define VMKIT_LOG(lvl, ...)                                                    \
  do {                                                                         \
    if (::vmkit::log::Level::lvl >= ::vmkit::log::level())                     \
      ::vmkit::log::write(::vmkit::log::Level::lvl, fmt::format(__VA_ARGS__)); \
  } while (0)

#define LOG_DEBUG(...) VMKIT_LOG(kDebug, __VA_ARGS__)
#define LOG_INFO(...) VMKIT_LOG(kInfo, __VA_ARGS__)
#define LOG_WARN(...) VMKIT_LOG(kWarn, __VA_ARGS__)
#define LOG_ERROR(...) VMKIT_LOG(kError, __VA_ARGS__)

// For conditions a guest can trigger at will: at most 10 lines a second from each call site.
#define LOG_GUEST_ERROR(...)                                        \
  do {                                                              \
    static ::vmkit::log::RateLimiter vmkit_rl_(10);                 \
    if (vmkit_rl_.allow()) VMKIT_LOG(kWarn, "guest: " __VA_ARGS__); \
  } while (0)
