#include "fake_driver.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "base/checked.h"

namespace vmkit::testing {
namespace {

void check(const Status& status, const char* what) {
  if (!status.ok()) throw std::runtime_error(std::string(what) + ": " + status.error().message());
}

}  // namespace

FakeQueueDriver::FakeQueueDriver(const GuestMemory& mem, uint16_t size, GuestAddress base,
                                 GuestAddress pool, uint64_t pool_size)
    : mem_(mem), pool_(pool), pool_size_(pool_size) {
  layout_.size = size;
  layout_.desc = base;
  layout_.avail = GuestAddress(base.value() + virtio::desc_table_size(size));
  layout_.used = GuestAddress(align_up(layout_.avail.value() + virtio::avail_ring_size(size), 4));
  check(mem.fill(base, 0, layout_.used.value() + virtio::used_ring_size(size) - base.value()),
        "zeroing rings");
}

GuestAddress FakeQueueDriver::alloc(uint64_t len, uint64_t align) {
  uint64_t at = align_up(pool_next_, align);
  if (at + len > pool_size_) throw std::runtime_error("fake driver: buffer pool exhausted");
  pool_next_ = at + len;
  return GuestAddress(pool_.value() + at);
}

std::vector<uint8_t> FakeQueueDriver::read(GuestAddress addr, uint64_t len) const {
  std::vector<uint8_t> out(len);
  check(mem_.read(addr, out), "reading guest buffer");
  return out;
}

void FakeQueueDriver::write(GuestAddress addr, std::span<const uint8_t> data) const {
  check(mem_.write(addr, data), "writing guest buffer");
}

uint16_t FakeQueueDriver::alloc_descriptor() {
  uint16_t index = next_desc_;
  next_desc_ = static_cast<uint16_t>((next_desc_ + 1) % layout_.size);
  return index;
}

void FakeQueueDriver::write_desc(uint16_t index, const virtio::VirtqDesc& desc) {
  write_desc_at(layout_.desc, index, desc);
}

void FakeQueueDriver::write_desc_at(GuestAddress table, uint16_t index,
                                    const virtio::VirtqDesc& desc) {
  check(mem_.write_obj(GuestAddress(table.value() + 16ull * index), desc), "writing descriptor");
}

void FakeQueueDriver::stage(uint16_t head) {
  uint16_t slot = static_cast<uint16_t>((avail_idx_ + staged_) % layout_.size);
  check(mem_.write_obj<uint16_t>(GuestAddress(layout_.avail.value() + 4 + 2ull * slot), head),
        "writing avail ring");
  ++staged_;
}

void FakeQueueDriver::publish_staged() {
  set_avail_idx(static_cast<uint16_t>(avail_idx_ + staged_));
  staged_ = 0;
}

void FakeQueueDriver::publish(uint16_t head) {
  stage(head);
  publish_staged();
}

void FakeQueueDriver::set_avail_idx(uint16_t idx) {
  avail_idx_ = idx;
  check(mem_.store_release<uint16_t>(GuestAddress(layout_.avail.value() + 2), idx),
        "writing avail idx");
}

void FakeQueueDriver::set_avail_flags(uint16_t flags) {
  check(mem_.write_obj<uint16_t>(layout_.avail, flags), "writing avail flags");
}

void FakeQueueDriver::set_used_event(uint16_t idx) {
  check(
      mem_.write_obj<uint16_t>(GuestAddress(layout_.avail.value() + 4 + 2ull * layout_.size), idx),
      "writing used_event");
}

uint16_t FakeQueueDriver::avail_event() const {
  return mem_.read_obj<uint16_t>(GuestAddress(layout_.used.value() + 4 + 8ull * layout_.size))
      .value();
}

uint16_t FakeQueueDriver::used_idx() const {
  return mem_.load_acquire<uint16_t>(GuestAddress(layout_.used.value() + 2)).value();
}

std::optional<virtio::VirtqUsedElem> FakeQueueDriver::pop_used() {
  if (used_idx() == last_used_) return std::nullopt;
  uint16_t slot = static_cast<uint16_t>(last_used_ % layout_.size);
  auto elem =
      mem_.read_obj<virtio::VirtqUsedElem>(GuestAddress(layout_.used.value() + 4 + 8ull * slot))
          .value();
  ++last_used_;
  return elem;
}

DescriptorChainBuilder& DescriptorChainBuilder::readable(std::span<const uint8_t> data) {
  GuestAddress at = driver_.alloc(data.size());
  driver_.write(at, data);
  (in_indirect_ ? indirect_ : direct_)
      .push_back(Item{at.value(), static_cast<uint32_t>(data.size()), 0});
  return *this;
}

DescriptorChainBuilder& DescriptorChainBuilder::writable(uint32_t len, GuestAddress* where) {
  GuestAddress at = driver_.alloc(len);
  check(driver_.memory().fill(at, 0, len), "zeroing buffer");
  if (where) *where = at;
  (in_indirect_ ? indirect_ : direct_).push_back(Item{at.value(), len, virtio::kDescFlagWrite});
  return *this;
}

DescriptorChainBuilder& DescriptorChainBuilder::raw(uint64_t addr, uint32_t len, uint16_t flags) {
  (in_indirect_ ? indirect_ : direct_).push_back(Item{addr, len, flags});
  return *this;
}

DescriptorChainBuilder& DescriptorChainBuilder::indirect() {
  in_indirect_ = true;
  return *this;
}

uint16_t DescriptorChainBuilder::build() {
  if (in_indirect_) {
    GuestAddress table = driver_.alloc(16ull * indirect_.size(), 16);
    for (size_t i = 0; i < indirect_.size(); ++i) {
      bool last = i + 1 == indirect_.size();
      uint16_t flags =
          static_cast<uint16_t>(indirect_[i].flags | (last ? 0 : virtio::kDescFlagNext));
      driver_.write_desc_at(
          table, static_cast<uint16_t>(i),
          {indirect_[i].addr, indirect_[i].len, flags, static_cast<uint16_t>(last ? 0 : i + 1)});
    }
    direct_.push_back(Item{table.value(), static_cast<uint32_t>(16 * indirect_.size()),
                           virtio::kDescFlagIndirect});
  }
  std::vector<uint16_t> indices;
  for (size_t i = 0; i < direct_.size(); ++i) indices.push_back(driver_.alloc_descriptor());
  for (size_t i = 0; i < direct_.size(); ++i) {
    bool last = i + 1 == direct_.size();
    uint16_t flags = static_cast<uint16_t>(direct_[i].flags | (last ? 0 : virtio::kDescFlagNext));
    driver_.write_desc(indices[i], {direct_[i].addr, direct_[i].len, flags,
                                    static_cast<uint16_t>(last ? 0 : indices[i + 1])});
  }
  return indices.empty() ? 0 : indices[0];
}

uint16_t DescriptorChainBuilder::publish() {
  uint16_t head = build();
  driver_.publish(head);
  return head;
}

}  // namespace vmkit::testing
