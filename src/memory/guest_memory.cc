#include "memory/guest_memory.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace vmkit {

namespace {
constexpr size_t kGuestRamAlignment = 2u << 20;
}  // namespace

std::string GuestMemory::hex(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(v));
  return buf;
}

Result<GuestMemory> GuestMemory::create(const std::vector<GuestRegionSpec>& specs) {
  auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  std::vector<GuestRegionSpec> sorted = specs;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.start < b.start; });
  std::vector<GuestMemoryRegion> regions;
  uint64_t prev_end = 0;
  for (const auto& s : sorted) {
    if (s.size == 0 || s.start.value() % page || s.size % page) {
      return Error("guest memory region at 0x" + hex(s.start.value()) + " size 0x" + hex(s.size) +
                   " is empty or not page-aligned");
    }
    auto end = checked_add<uint64_t>(s.start.value(), s.size);
    if (!end || s.start.value() < prev_end) {
      return Error("guest memory region at 0x" + hex(s.start.value()) + " overlaps or wraps");
    }
    prev_end = *end;
    Mmap mapping = TRY(Mmap::anonymous(s.size, kGuestRamAlignment));
    regions.emplace_back(s.start, std::move(mapping));
  }
  return GuestMemory(std::move(regions));
}

uint64_t GuestMemory::total_size() const {
  uint64_t total = 0;
  for (const auto& r : regions_) total += r.size();
  return total;
}

GuestAddress GuestMemory::end() const {
  if (regions_.empty()) return GuestAddress(0);
  const auto& last = regions_.back();
  return last.start() + last.size();
}

const GuestMemoryRegion* GuestMemory::find(GuestAddress addr, uint64_t len) const {
  for (const auto& r : regions_) {
    if (r.contains(addr, len)) return &r;
  }
  return nullptr;
}

Error GuestMemory::out_of_range(GuestAddress addr, uint64_t len) const {
  return Error("guest range 0x" + hex(addr.value()) + "+0x" + hex(len) + " is outside guest RAM");
}

Result<std::span<uint8_t>> GuestMemory::span(GuestAddress addr, uint64_t len) const {
  const GuestMemoryRegion* r = find(addr, len);
  if (!r) return out_of_range(addr, len);
  return std::span<uint8_t>(r->host_address() + (addr.value() - r->start().value()), len);
}

Status GuestMemory::read(GuestAddress addr, std::span<uint8_t> out) const {
  auto src = TRY(span(addr, out.size()));
  if (!out.empty()) std::memcpy(out.data(), src.data(), out.size());
  return {};
}

Status GuestMemory::write(GuestAddress addr, std::span<const uint8_t> data) const {
  auto dst = TRY(span(addr, data.size()));
  if (!data.empty()) std::memcpy(dst.data(), data.data(), data.size());
  return {};
}

Status GuestMemory::fill(GuestAddress addr, uint8_t value, uint64_t len) const {
  auto dst = TRY(span(addr, len));
  std::memset(dst.data(), value, dst.size());
  return {};
}

}  // namespace vmkit
