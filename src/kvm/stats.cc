#include "kvm/stats.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "base/file.h"

namespace vmkit {
namespace {
// struct kvm_stats_desc without its flexible name (whose C++ declaration has the wrong size).
struct StatsDescFixed {
  uint32_t flags;
  int16_t exponent;
  uint16_t size;
  uint32_t offset;
  uint32_t bucket_size;
};
static_assert(sizeof(StatsDescFixed) == 16);
}  // namespace

Result<KvmStats> KvmStats::open(int object_fd) {
  int fd = ::ioctl(object_fd, KVM_GET_STATS_FD, nullptr);
  if (fd < 0) return Error::from_errno("KVM_GET_STATS_FD");
  UniqueFd stats(fd);
  kvm_stats_header header{};
  TRY(read_exact(fd, std::span(reinterpret_cast<uint8_t*>(&header), sizeof(header)), 0,
                 "kvm stats"));  // SAFETY: POD header read as bytes
  size_t desc_size = sizeof(StatsDescFixed) + header.name_size;
  std::vector<uint8_t> descs(desc_size * header.num_desc);
  TRY(read_exact(fd, descs, header.desc_offset, "kvm stats descriptors"));
  std::map<std::string, uint32_t> offsets;
  for (uint32_t i = 0; i < header.num_desc; ++i) {
    StatsDescFixed d;
    std::memcpy(&d, descs.data() + i * desc_size, sizeof(d));
    const char* name = reinterpret_cast<const char*>(descs.data() + i * desc_size + sizeof(d));
    offsets[std::string(name, strnlen(name, header.name_size))] = d.offset;
  }
  return KvmStats(std::move(stats), header.data_offset, std::move(offsets));
}

Result<uint64_t> KvmStats::read(const std::string& name) const {
  auto it = offsets_.find(name);
  if (it == offsets_.end()) return Error("no KVM statistic named " + name);
  uint64_t value = 0;
  TRY(read_exact(fd_.get(), std::span(reinterpret_cast<uint8_t*>(&value), sizeof(value)),
                 data_offset_ + it->second, "kvm stats"));  // SAFETY: u64 read as bytes
  return value;
}

}  // namespace vmkit
