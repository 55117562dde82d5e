#!/bin/bash
# Flakiness measurement: boots the same guest under QEMU-KVM (or vmkit) N times inside ONE nested
# test host and counts how each run ended (docs/testing.md, "Flakiness"):
#   pass      the workload ran and the guest powered off (monitor exit 0)
#   hang      no end within --run-timeout (guest output stopped)
#   vanished  the monitor exited 0 without the guest finishing (a guest reset with -no-reboot)
#   error     anything else (monitor error, guest kernel panic, workload failed)
# Usage: scripts/nested-host/soak.sh [--runs N] [--cpus N] [--workload boot|fio|stress]
#          [--kernel generic|cloud] [--monitor qemu|vmkit] [--run-timeout S]
#          [--nested-args "RUN.SH OPTIONS"] [--log FILE]
#   boot    busybox initramfs, `true`, power off
#   fio     Debian rootfs on virtio-blk (snapshot), 20 s of 4k random read/write, one job per vCPU
#   stress  busybox initramfs, 20 s of a CPU+memory loop on every vCPU (no I/O)
# --nested-args go to scripts/nested-host/run.sh (e.g. "--append kvm_amd.npt=0").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/guest/lib.sh"

runs=10 cpus=2 workload=boot flavour=generic monitor=qemu run_timeout=150 nested_args= logfile=
args=("$@")
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --workload) workload=$2; shift 2 ;;
    --kernel) flavour=$2; shift 2 ;;
    --monitor) monitor=$2; shift 2 ;;
    --run-timeout) run_timeout=$2; shift 2 ;;
    --nested-args) nested_args=$2; shift 2 ;;
    --log) logfile=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1'" ;;
  esac
done

if [ -z "${VMKIT_NESTED_HOST:-}" ]; then
  # shellcheck disable=SC2086
  exec "$here/run.sh" --timeout $((runs * (run_timeout + 10) + 120)) --rw "$root" $nested_args \
    -- "$0" "${args[@]}"
fi

case $flavour in
  generic) kernel=$VMKIT_CACHE/kernel/vmlinuz initrd=$VMKIT_CACHE/images/initramfs.cpio.gz ;;
  cloud) kernel=$VMKIT_CACHE/kernel-cloud/vmlinuz initrd=$VMKIT_CACHE/images/initramfs-cloud.cpio.gz ;;
  *) die "unknown kernel '$flavour'" ;;
esac
disk=()
case $workload in
  boot) run='true' ;;
  stress) run='for i in $(seq $(nproc)); do (end=$(($(date +%s) + 20)); while [ $(date +%s) -lt $end ]; do dd if=/dev/zero of=/dev/null bs=1M count=64 2>/dev/null; done) & done; wait' ;;
  fio)
    rootfs=$VMKIT_CACHE/images/rootfs-debian.ext4
    [ -f "$rootfs" ] || die "$rootfs missing: guest/build-rootfs.sh debian"
    disk=(-drive "file=$rootfs,if=virtio,format=raw,snapshot=on,cache=none")
    run='fio --name=soak --filename=/root/fio.dat --size=64M --rw=randrw --bs=4k --ioengine=psync --direct=1 --time_based --runtime=20 --numjobs=$(nproc) --group_reporting --output-format=terse >/dev/null'
    ;;
  *) die "unknown workload '$workload'" ;;
esac
cmdline="console=ttyS0 quiet panic=-1 vmkit_run=\"$run\""
[ -z "${disk[*]}" ] || cmdline="$cmdline root=/dev/vda"
case $monitor in
  # -d cpu_reset: QEMU logs the vCPU state at every reset, so a guest that "vanishes" (a triple
  # fault ends QEMU with -no-reboot) leaves its last state behind.
  qemu) cmd=(qemu-system-x86_64 -accel kvm -M q35 -cpu host -smp "$cpus" -m 1024 -nodefaults
             -display none -serial stdio -no-reboot -kernel "$kernel" -initrd "$initrd"
             -append "$cmdline" "${disk[@]}" -d cpu_reset -D /tmp/soak-qemu.log) ;;
  vmkit)
    [ -z "${disk[*]}" ] || die "the fio workload needs --disk in vmkit: not wired here yet"
    cmd=("${VMKIT_BINARY:-$root/build/vmkit}" run --kernel "$kernel" --initrd "$initrd"
         --cmdline "$cmdline" --memory 1024M --cpus "$cpus" --no-reboot) ;;
  *) die "unknown monitor '$monitor'" ;;
esac

declare -A count=([pass]=0 [hang]=0 [vanished]=0 [error]=0)
log "$runs runs: $monitor, $cpus vCPU, $flavour kernel, workload $workload; nested host: $(tr ' ' '\n' </proc/cmdline | grep -e tsc= -e kvm_amd | tr '\n' ' ')"
out=$(mktemp)
for ((i = 1; i <= runs; i++)); do
  start=$EPOCHREALTIME
  set +e
  timeout -k 5 "$run_timeout" "${cmd[@]}" </dev/null >"$out" 2>&1
  status=$?
  set -e
  secs=$(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f", e - s }')
  tr -d '\r' <"$out" >"$out.clean"
  if [ "$status" = 0 ] && grep -q '^VMKIT-RUN-EXIT=0' "$out.clean"; then
    outcome=pass
  elif [ "$status" = 124 ] || [ "$status" = 137 ]; then
    outcome=hang
  elif [ "$status" = 0 ] && ! grep -q '^VMKIT-RUN-EXIT=' "$out.clean" &&
       ! grep -q -e 'Kernel panic' -e 'BUG:' "$out.clean"; then
    outcome=vanished
  else
    outcome=error
  fi
  count[$outcome]=$((count[$outcome] + 1))
  echo "run $i: $outcome after ${secs}s (monitor exit $status)"
  if [ "$outcome" != pass ]; then
    tail -n 6 "$out.clean" | sed 's/^/  | /'
    dmesg | tail -n 5 | sed 's/^/  nested-host dmesg: /'
    if [ "$outcome" = vanished ] && [ -s /tmp/soak-qemu.log ]; then
      echo "  QEMU's last CPU reset (the state that reset the guest):"
      awk '/^CPU Reset/ { n = NR } { line[NR] = $0 } END { for (i = n; i <= NR && i < n + 12; i++) print "    " line[i] }' /tmp/soak-qemu.log
    fi
  fi
  rm -f /tmp/soak-qemu.log
  [ -z "$logfile" ] || echo "$monitor $cpus $flavour $workload run=$i $outcome ${secs}s" >>"$logfile"
done
rm -f "$out" "$out.clean"
echo "summary: ${count[pass]} pass, ${count[hang]} hang, ${count[vanished]} vanished, ${count[error]} error of $runs ($monitor, $cpus vCPU, $workload)"
echo "nested host: clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource); kernel warnings:"
dmesg --level=emerg,alert,crit,err,warn 2>/dev/null | tail -n 15 | sed 's/^/  /' || true
