#!/bin/bash
# Boots the default guest under vmkit: Debian's stock kernel (linux-image-6.1.0-*-amd64) and the
# busybox initramfs, 2 vCPUs and 512 MiB, to a shell on the serial console (type `poweroff` to
# end it, or Ctrl-A x to quit at once). Builds vmkit first if needed (./build).
#
# Where the host's KVM runs stock kernels (Intel VT-x or AMD-V) the guest boots directly on it.
# On a PVM host (kvm_pvm, our development machines) it boots inside the nested test host
# (scripts/nested-host/run.sh: QEMU TCG with an emulated AMD CPU whose kvm_amd runs vmkit): the
# script says which. Run scripts/setup.sh first (the README's first command does).
#
# Usage: scripts/demo.sh [--cpus N] [--memory SIZE] [--run COMMAND] [--nested|--direct]
#   --run COMMAND   run COMMAND in the guest instead of an interactive shell, then power off
#                   (the default when standard input is not a terminal: uname, nproc, free);
#                   no double quotes in COMMAND (it travels on the kernel command line)
#   --nested        use the nested test host even where KVM could run the guest directly
#   --direct        boot on this host's KVM even if it looks unable to (to see vmkit's message)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/guest/lib.sh"

cpus=2 memory=512M run= where=
while [ $# -gt 0 ]; do
  case $1 in
    --cpus) cpus=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --run) run=$2; shift 2 ;;
    --nested) where=nested; shift ;;
    --direct) where=direct; shift ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
if [ -z "$run" ] && ! [ -t 0 ]; then
  run='uname -a; echo vCPUs: $(nproc); free -m; cat /sys/devices/system/clocksource/clocksource0/current_clocksource'
fi

kernel=$VMKIT_CACHE/kernel/vmlinuz
initrd=$VMKIT_CACHE/images/initramfs.cpio.gz
for f in "$kernel" "$initrd"; do
  [ -f "$f" ] || die "$f is missing: run scripts/setup.sh first"
done

build=$root/build
if [ ! -f "$build/build.ninja" ]; then
  log "configuring $build"
  cmake -S "$root" -B "$build" -G Ninja >/dev/null
fi
log "building vmkit"
ninja -C "$build" vmkit | tail -n 1

case $run in *'"'*) die "--run COMMAND cannot contain double quotes (kernel command line)" ;; esac
cmdline="console=ttyS0 quiet"
[ -z "$run" ] || cmdline+=" vmkit_run=\"$run\""
vmkit=("$build/vmkit" run --kernel "$kernel" --initrd "$initrd" --cpus "$cpus" --memory "$memory"
  --cmdline "$cmdline")

if [ -z "$where" ]; then
  if [ -d /sys/module/kvm_pvm ] || ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
    where=nested
  else
    where=direct
  fi
fi
if [ "$where" = direct ]; then
  log "booting directly on this host's KVM ($(grep -qw vmx /proc/cpuinfo && echo Intel VT-x || echo AMD-V))"
  exec "${vmkit[@]}"
fi

log "this host's /dev/kvm is PVM (kvm_pvm), which cannot run Debian's stock kernel:"
log "booting inside the nested test host (QEMU TCG + kvm_amd; slower than real hardware)"
nested=("$here/nested-host/run.sh" --timeout 3600 --rw "$build")
[ -n "$run" ] || nested+=(--interactive)
cd "$build"
exec "${nested[@]}" -- "${vmkit[@]}"
