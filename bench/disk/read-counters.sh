#!/bin/bash
# What a 4k random read costs the guest, per monitor (a diagnostic for bench/disk/guest-fio.sh):
# boots the same guest as guest-fio.sh (Debian cloud kernel, 1 vCPU, 512 MiB, the Debian root
# read-only on vda, a fresh test image on vdb) under vmkit and QEMU, alternating, in one nested
# test host. The guest runs 4k random writes and 1M sequential writes (--writes "S1 S2" seconds),
# then 4k random reads at iodepth 32 for --time seconds between two console markers. At each
# marker the script reads the nested host's KVM counters (/sys/kernel/debug/kvm: exits,
# irq_exits = exits for host interrupts, irq_window_exits, halt_exits, irq_injections) and its
# reschedule and function-call IPIs (/proc/interrupts RES, CAL), without starting a process.
# Prints per boot and as medians over --runs: IOPS and each counter per read, plus the guest's
# own interrupts per read (its /proc/interrupts), and the monitor's CPU time over the reads (all
# its threads, seconds per second: the vCPU thread's share is about 1). The KVM counters are the
# nested host's totals: only one guest runs at a time.
# The monitors are configured as in guest-fio.sh (QEMU: iothread, cache=writeback,aio=io_uring;
# vmkit: cache=writeback: tmpfs before Linux 6.6 has no O_DIRECT). The console goes to a file,
# as in guest-fio.sh: QEMU's guest read 30-50% slower with its console on a pipe.
# Usage: bench/disk/read-counters.sh [--build DIR] [--runs N (6)] [--time S (8)]
#          [--writes "S1 S2" ("4 3")] [--formats raw,qcow2-prealloc (qcow2-prealloc)]
#          [--monitors vmkit,qemu] (vmkit+OPTION adds OPTION to vmkit's test disk, e.g.
#          vmkit+poll-max-ns=0, and reports it as a monitor of its own)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/guest/lib.sh"
. "$here/lib.sh"

build=$root/build size=1G vmkit_cache=writeback qemu_cache=cache=writeback,aio=io_uring
runs=6 seconds=8 writes="4 3" formats=qcow2-prealloc monitors=vmkit,qemu
args=("$@")
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --time) seconds=$2; shift 2 ;;
    --writes) writes=$2; shift 2 ;;
    --formats) formats=$2; shift 2 ;;
    --monitors) monitors=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1'" ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ && $seconds =~ ^[1-9][0-9]*$ && $writes =~ ^[0-9]+\ [0-9]+$ ]] ||
  die "--runs and --time take positive integers, --writes two integers"
IFS=, read -r -a format_list <<<"$formats"
IFS=, read -r -a monitor_list <<<"$monitors"
read -r w_random w_seq <<<"$writes"
boot_budget=$((w_random + w_seq + seconds + 150))

if [ -z "${VMKIT_NESTED_HOST:-}" ] && [ -e /sys/module/kvm_pvm ]; then
  log "PVM host: running inside the nested test host"
  total=$((runs * ${#format_list[@]} * ${#monitor_list[@]} * (boot_budget + 10) + 300))
  exec "$root/scripts/nested-host/run.sh" --timeout "$total" --rw "$root" -- "$0" "${args[@]}"
fi
[ -w /dev/kvm ] || die "no usable /dev/kvm"
for t in qemu-img debugfs fallocate; do command -v "$t" >/dev/null || die "$t missing"; done
kernel=${VMKIT_KERNEL_CLOUD:-$VMKIT_CACHE/kernel-cloud/vmlinuz}
initrd=${VMKIT_INITRD_CLOUD:-$VMKIT_CACHE/images/initramfs-cloud.cpio.gz}
rootfs=${VMKIT_ROOTFS_DEBIAN:-$VMKIT_CACHE/images/rootfs-debian.ext4}
vmkit=${VMKIT_BINARY:-$build/vmkit}
check_inputs "${monitor_list[@]}"
for f in "${format_list[@]}"; do
  case $f in raw | qcow2 | qcow2-prealloc) ;; *) die "unknown format '$f'" ;; esac
done
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
[ -r /sys/kernel/debug/kvm/exits ] || die "no KVM counters in /sys/kernel/debug/kvm"

work=$(mktemp -d /tmp/vmkit-read-counters.XXXXXX)
monitor_pid=
cleanup() {
  [ -z "$monitor_pid" ] || kill -KILL "$monitor_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The guest job: the writes, then the reads between the markers; the guest's interrupts of the
# test disk's request queue (virtioN-req.0 of the disk whose serial is gbench).
cat >"$work/job.sh" <<'EOF'
target=
for s in /sys/block/*/serial; do
  [ -r "$s" ] && [ "$(cat "$s")" = gbench ] && target=/dev/$(basename "$(dirname "$s")")
done
[ -n "$target" ] || { echo "RC-ERROR no disk with serial gbench"; exit 1; }
dev=$(basename "$(readlink -f "/sys/block/${target#/dev/}/device")")
irqs() { awk -v d="$dev-req" '$NF ~ d { s += $2 } END { print s + 0 }' /proc/interrupts; }
io() { fio --name=rc --filename="$target" --direct=1 --ioengine=libaio --time_based --size=1G \
         --norandommap --randrepeat=0 --iodepth=32 --output-format=terse --terse-version=3 "$@"; }
[ "$1" = 0 ] || io --runtime="$1" --rw=randwrite --bs=4k >/dev/null || echo "RC-ERROR randwrite"
[ "$2" = 0 ] || io --runtime="$2" --rw=write --bs=1M >/dev/null || echo "RC-ERROR write"
i0=$(irqs)
echo RC-START
out=$(io --runtime="$3" --rw=randread --bs=4k) || echo "RC-ERROR randread"
echo RC-END
i1=$(irqs)
echo "$out" | awk -F';' -v di=$((i1 - i0)) '$1 == 3 { print "RC-RESULT", $8, $6, di }'
EOF
cp --sparse=always "$rootfs" "$work/root.ext4"
debugfs -w -R "write $work/job.sh /usr/local/bin/read-counters" "$work/root.ext4" >/dev/null 2>&1 ||
  die "debugfs could not add the job script to the guest root"
cmdline="console=ttyS0 quiet panic=-1 root=/dev/vda ro vmkit_run=\"sh /usr/local/bin/read-counters $w_random $w_seq $seconds\""

counters=(exits irq_exits irq_window_exits halt_exits irq_injections)
# snapshot NAME: the counters into snap_NAME[...], with builtins only (no process started while
# the guest reads).
snapshot() {
  local -n into=snap_$1
  local line c v
  into=()
  # The monitor's CPU time (all its threads, in clock ticks) and the time.
  local pid stat
  read -r pid <"/proc/$monitor_pid/task/$monitor_pid/children" || true
  if [ -n "${pid:-}" ] && read -r stat <"/proc/${pid%% *}/stat"; then
    set -- ${stat##*) }
    into[cpu_ticks]=$((${12} + ${13}))
  fi
  into[usec]=${EPOCHREALTIME/./}
  for c in "${counters[@]}"; do read -r v <"/sys/kernel/debug/kvm/$c"; into[$c]=$v; done
  while read -r line; do
    set -- $line
    case ${1:-} in
      RES: | CAL:)
        c=${1%:} v=0
        shift
        while [[ ${1:-x} =~ ^[0-9]+$ ]]; do v=$((v + $1)); shift; done
        into[$c]=$v ;;
    esac
  done </proc/interrupts
}
declare -A snap_a snap_b
names=("${counters[@]}" RES CAL)

# one_boot MONITOR FORMAT: prints "IOPS reads guest-irqs name=delta..." or returns 1.
one_boot() {
  local m=$1 image fmt line result=
  read -r image fmt < <(make_image "$2") || return 1
  monitor_command "$m" "$image" "$fmt"
  : >"$work/console"
  timeout -k 5 "$boot_budget" "${cmd[@]}" </dev/null >"$work/console" 2>&1 &
  monitor_pid=$!
  # tail follows the file (inotify) and ends with the monitor.
  while IFS= read -r line; do
    line=${line%$'\r'}
    case $line in
      RC-START*) snapshot a ;;
      RC-END*) snapshot b ;;
      RC-RESULT*) result=${line#RC-RESULT } ;;
      RC-ERROR*) log "$m/$2: guest: $line" ;;
    esac
  done < <(tail -n +1 -f --pid="$monitor_pid" "$work/console")
  wait "$monitor_pid" || true
  monitor_pid=
  local iops reads girq
  read -r iops reads girq <<<"$result"
  [ -n "${reads:-}" ] && [ "$reads" -gt 0 ] && [ "${#snap_b[@]}" -gt 0 ] || {
    log "$m/$2: the boot failed; last lines:"
    tr -d '\r' <"$work/console" | tail -n 5 | sed 's/^/  | /' >&2
    return 1
  }
  local ticks=$(getconf CLK_TCK) cpu=-
  [ -z "${snap_a[cpu_ticks]:-}" ] || [ -z "${snap_b[cpu_ticks]:-}" ] ||
    cpu=$(awk -v t=$((snap_b[cpu_ticks] - snap_a[cpu_ticks])) -v hz="$ticks" \
              -v us=$((snap_b[usec] - snap_a[usec])) 'BEGIN { printf "%.2f", t / hz / (us / 1e6) }')
  local out="$iops $reads $girq $cpu" c
  for c in "${names[@]}"; do out+=" $c=$((snap_b[$c] - snap_a[$c]))"; done
  snap_a=() snap_b=()
  echo "$out"
}

declare -A per  # per[monitor,format,figure] = "v1 v2 ..." (IOPS, then per-read figures)
log "$runs runs, writes $writes s, reads $seconds s, formats $formats, monitors $monitors"
for ((run = 1; run <= runs; run++)); do
  order=("${monitor_list[@]}")
  if ((run % 2 == 0)); then
    order=()
    for ((i = ${#monitor_list[@]} - 1; i >= 0; i--)); do order+=("${monitor_list[i]}"); done
  fi
  for format in "${format_list[@]}"; do
    for m in "${order[@]}"; do
      r=$(one_boot "$m" "$format") || continue
      read -r iops reads girq cpu rest <<<"$r"
      per[$m,$format,iops]+="$iops "
      [ "$cpu" = - ] || per[$m,$format,cpu]+="$cpu "
      line="run $run $m/$format: $iops IOPS, monitor CPU $cpu; per read: guest-irq $(awk -v a="$girq" -v n="$reads" 'BEGIN { printf "%.3f", a / n }')"
      per[$m,$format,guest-irq]+="$(awk -v a="$girq" -v n="$reads" 'BEGIN { printf "%.4f", a / n }') "
      for kv in $rest; do
        v=$(awk -v a="${kv#*=}" -v n="$reads" 'BEGIN { printf "%.4f", a / n }')
        per[$m,$format,${kv%%=*}]+="$v "
        line+=" ${kv%%=*} ${v}"
      done
      log "$line"
    done
  done
done

echo
header="${names[*]}"
echo "| monitor | format | boots | 4k randread IOPS | monitor CPU (s/s) | guest irq/read | ${header// //read | }/read |"
echo "|---|---|---|---|---|---|$(printf -- '---|%.0s' "${names[@]}")"
for format in "${format_list[@]}"; do
  for m in "${monitor_list[@]}"; do
    row="| $m | $format | $(count <<<"${per[$m,$format,iops]:-}") | $(median <<<"${per[$m,$format,iops]:-}") | $(median <<<"${per[$m,$format,cpu]:-}") | $(median <<<"${per[$m,$format,guest-irq]:-}") |"
    for c in "${names[@]}"; do row+=" $(median <<<"${per[$m,$format,$c]:-}") |"; done
    echo "$row"
  done
done
