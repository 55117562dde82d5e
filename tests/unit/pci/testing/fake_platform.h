// Fakes of the platform interfaces (MSI, INTx, ioeventfd) for unit tests: they record what the
// PCI and virtio layers asked for so that tests can assert on it.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "pci/interrupt.h"
#include "pci/ioevent.h"

namespace vmkit::testing {

// Shared state of one FakeMsiGroup, kept by the test after the group moved into the device.
struct FakeMsiState {
  std::mutex mu;
  std::vector<std::optional<MsiMessage>> routes;
  std::vector<int> triggers;  // per vector
  int updates = 0;
  bool triggered_without_route = false;

  int triggered(uint16_t v) {
    std::lock_guard lock(mu);
    return v < triggers.size() ? triggers[v] : 0;
  }
  int total_triggers() {
    std::lock_guard lock(mu);
    int n = 0;
    for (int t : triggers) n += t;
    return n;
  }
  std::optional<MsiMessage> route(uint16_t v) {
    std::lock_guard lock(mu);
    return v < routes.size() ? routes[v] : std::nullopt;
  }
};

class FakeMsiGroup final : public MsiVectorGroup {
 public:
  FakeMsiGroup(uint16_t count, std::shared_ptr<FakeMsiState> state) : state_(std::move(state)) {
    state_->routes.resize(count);
    state_->triggers.resize(count);
  }
  void update(uint16_t index, std::optional<MsiMessage> message) override {
    std::lock_guard lock(state_->mu);
    state_->routes.at(index) = message;
    ++state_->updates;
  }
  void trigger(uint16_t index) override {
    std::lock_guard lock(state_->mu);
    if (!state_->routes.at(index)) state_->triggered_without_route = true;
    ++state_->triggers.at(index);
  }

 private:
  std::shared_ptr<FakeMsiState> state_;
};

class FakeMsiController final : public MsiController {
 public:
  Result<std::unique_ptr<MsiVectorGroup>> allocate(uint16_t count) override {
    last = std::make_shared<FakeMsiState>();
    allocated.push_back(count);
    return std::unique_ptr<MsiVectorGroup>(std::make_unique<FakeMsiGroup>(count, last));
  }
  std::shared_ptr<FakeMsiState> last;
  std::vector<uint16_t> allocated;
};

class FakeIrqLine final : public IrqLine {
 public:
  void set_level(bool asserted) override {
    std::lock_guard lock(mu);
    level = asserted;
    if (asserted) ++raised;
  }
  bool get() {
    std::lock_guard lock(mu);
    return level;
  }
  std::mutex mu;
  bool level = false;
  int raised = 0;
};

class FakeIoEventRegistrar final : public IoEventRegistrar {
 public:
  Status register_ioevent(uint64_t address, const EventFd& event) override {
    std::lock_guard lock(mu);
    if (fail) return Error("ioeventfd unavailable");
    registered[address] = event.fd();
    return {};
  }
  void unregister_ioevent(uint64_t address, const EventFd& event) override {
    std::lock_guard lock(mu);
    auto it = registered.find(address);
    if (it != registered.end() && it->second == event.fd()) registered.erase(it);
  }
  std::map<uint64_t, int> snapshot() {
    std::lock_guard lock(mu);
    return registered;
  }
  std::mutex mu;
  std::map<uint64_t, int> registered;  // address -> eventfd
  bool fail = false;
};

}  // namespace vmkit::testing
