#pragma once

#include <vector>

#include "bus/irq_line.h"

namespace vmkit {

// Records every level change of an interrupt line.
class FakeIrqLine : public IrqLine {
 public:
  void set_level(bool high) override {
    level = high;
    changes.push_back(high);
  }
  bool level = false;
  std::vector<bool> changes;
};

}  // namespace vmkit
