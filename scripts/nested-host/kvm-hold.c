// kvm-hold: keeps one idle KVM VM (and one per-task perf event) open for the nested test
// host's whole life.
//
// Why (docs/testing.md, "Flakiness"): creating the first VM and destroying the last one flips
// static keys in the nested host's kernel (preempt_notifier_key, tested in __schedule; the LAPIC
// keys of kvm.ko; perf_sched_events when a guest's vPMU makes KVM create per-task perf events),
// and the kernel patches its own text for each flip (text_poke_bp: int3, IPIs, final bytes).
// Under QEMU 7.2's multi-threaded TCG the other vCPU sometimes keeps executing a stale
// translation that still holds the int3; kprobes' int3 handler sees the int3 gone from memory
// and rewinds to it, so that vCPU loops forever with interrupts off. Seen in CI and here: CPU 0
// looping on the int3 at the preempt_notifier_key site in __schedule while kvm_destroy_vm on
// CPU 1 waited for its IPI (soft lockup, every guest test stalled until the outer timeout).
// With this VM and event held open those counts never return to zero, so starting and stopping
// guests no longer patches the nested host's kernel text.
//
// Usage: kvm-hold   sets everything up, then leaves a child process holding it and exits 0
//                  (non-zero with a message if something could not be set up).
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fail(const char* what) {
  fprintf(stderr, "kvm-hold: error: %s: %s\n", what, strerror(errno));
  return 1;
}

int main(void) {
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) return fail("open /dev/kvm");
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) return fail("KVM_CREATE_VM");
  // An in-kernel LAPIC per vCPU, as every guest has: its vCPU keeps kvm.ko's LAPIC keys held.
  if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) return fail("KVM_CREATE_IRQCHIP");
  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) return fail("KVM_CREATE_VCPU");
  // The vCPU's LAPIC hardware-disabled (APIC base MSR without its enable bit) keeps the
  // "some LAPIC is hardware-disabled" key up; a never-run vCPU's LAPIC stays software-disabled.
  struct {
    struct kvm_msrs header;
    struct kvm_msr_entry entry;
  } msrs;
  memset(&msrs, 0, sizeof msrs);
  msrs.header.nmsrs = 1;
  msrs.entry.index = 0x1b;  // IA32_APIC_BASE
  msrs.entry.data = 0xfee00000;
  if (ioctl(vcpu, KVM_SET_MSRS, &msrs) != 1) return fail("KVM_SET_MSRS IA32_APIC_BASE");
  // A perf event bound to this task keeps perf_sched_events enabled.
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_DUMMY;
  if (syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC) < 0) {
    return fail("perf_event_open");
  }
  pid_t child = fork();
  if (child < 0) return fail("fork");
  if (child > 0) {
    printf("kvm-hold: process %d holds an idle VM and a perf event\n", (int)child);
    return 0;
  }
  setsid();
  for (;;) pause();
}
