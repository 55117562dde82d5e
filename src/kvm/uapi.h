// Fixes for <linux/kvm.h> in C++. The uapi headers declare flexible arrays with
// __DECLARE_FLEX_ARRAY, which in C++ adds an empty struct of size 1: sizeof(kvm_cpuid2) becomes
// 12 instead of 8, so the ioctl numbers (which encode the size) and the entry offsets are wrong
// (KVM answers EINVAL). vmkit uses these header structs and numbers instead.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace vmkit::kvm_uapi {

struct Cpuid2Header {
  uint32_t nent;
  uint32_t padding;
};
struct MsrsHeader {
  uint32_t nmsrs;
  uint32_t pad;
};
struct MsrListHeader {
  uint32_t nmsrs;
};
struct IrqRoutingHeader {
  uint32_t nr;
  uint32_t flags;
};
static_assert(sizeof(Cpuid2Header) == 8 && sizeof(MsrsHeader) == 8);
static_assert(sizeof(MsrListHeader) == 4 && sizeof(IrqRoutingHeader) == 8);

inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, Cpuid2Header);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, Cpuid2Header);
inline constexpr unsigned long kGetMsrIndexList = _IOWR(KVMIO, 0x02, MsrListHeader);
inline constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);
inline constexpr unsigned long kSetGsiRouting = _IOW(KVMIO, 0x6a, IrqRoutingHeader);

// A header followed by `count` entries, laid out as the C structs are, 8-byte aligned.
template <typename Header, typename Entry>
class FlexBuffer {
 public:
  explicit FlexBuffer(size_t count)
      : count_(count), words_((sizeof(Header) + count * sizeof(Entry) + 7) / 8, 0) {}

  void* data() { return words_.data(); }
  Header header() const {
    Header h;
    std::memcpy(&h, words_.data(), sizeof(h));
    return h;
  }
  void set_header(const Header& h) { std::memcpy(words_.data(), &h, sizeof(h)); }
  Entry entry(size_t i) const {
    Entry e;
    std::memcpy(&e, bytes() + sizeof(Header) + i * sizeof(Entry), sizeof(e));
    return e;
  }
  void set_entry(size_t i, const Entry& e) {
    std::memcpy(bytes() + sizeof(Header) + i * sizeof(Entry), &e, sizeof(e));
  }
  size_t capacity() const { return count_; }

 private:
  // SAFETY: the vector's storage viewed as bytes.
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(words_.data()); }
  const uint8_t* bytes() const { return reinterpret_cast<const uint8_t*>(words_.data()); }
  size_t count_;
  std::vector<uint64_t> words_;
};

}  // namespace vmkit::kvm_uapi
