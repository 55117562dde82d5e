// One thread per vCPU, an explicit state machine driven by commands from the main thread:
// running -> paused -> running, and stopping (terminal). A command interrupts KVM_RUN with
// immediate_exit plus a signal to the thread.
#pragma once

#include <pthread.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "bus/bus.h"
#include "kvm/vcpu.h"
#include "vmm/vm_events.h"

namespace vmkit {

class VcpuThread {
 public:
  enum class State { kCreated, kRunning, kPaused, kStopping, kExited };

  VcpuThread(KvmVcpu vcpu, const Bus& pio, const Bus& mmio, VmEvents& events);
  ~VcpuThread();
  VcpuThread(const VcpuThread&) = delete;
  VcpuThread& operator=(const VcpuThread&) = delete;

  // Installs the (empty) kick signal handler once per process.
  static void install_kick_handler();

  void start();
  // Returns once the vCPU is out of KVM_RUN and parked.
  void pause();
  void resume();
  // Stops and joins the thread.
  void stop();

  State state() const;
  const KvmVcpu& vcpu() const { return vcpu_; }

 private:
  void run();
  void kick();
  // With -v: counts exits by port / MMIO page and logs the busiest when the thread ends.
  void count_exit(const VcpuExit& exit);
  void log_exit_counts() const;

  KvmVcpu vcpu_;
  const Bus& pio_;
  const Bus& mmio_;
  VmEvents& events_;
  std::thread thread_;
  mutable std::mutex mutex_;  // guards state_, parked_
  std::condition_variable cv_;
  State state_ = State::kCreated;
  bool parked_ = false;
  bool count_exits_ = false;
  std::unordered_map<std::string, uint64_t> exit_counts_;  // vCPU thread only
};

}  // namespace vmkit
