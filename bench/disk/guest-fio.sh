#!/bin/bash
# Guest disk benchmark (issues 3 and 5), inside ONE nested test host, in one run:
#   vmkit   vmkit run ... --disk path=IMG,format=F,serial=gbench,cache=C        (virtio-blk)
#   qemu    qemu-system-x86_64 -accel kvm -M q35 -cpu host, the disk as QEMU users tune it:
#           -object iothread -drive if=none,format=F,cache=C,aio=A
#           -device virtio-blk-pci,iothread=io0,num-queues=1
#   host    fio run by the nested host itself on a raw image file (the limit; no guest)
# Same guest for both monitors: Debian's stock kernel (cloud by default) + the guest initramfs,
# the Debian root (guest/build-rootfs.sh debian, which has fio) read-only on /dev/vda, 1 vCPU,
# 512 MiB, and the test disk (a fresh image on the nested host's tmpfs for every boot) on vdb.
# Disk formats: raw (fallocated), qcow2 (fresh thin image: the write jobs allocate clusters),
# qcow2-prealloc (qemu-img -o preallocation=falloc: every cluster allocated). Images are made by
# qemu-img. The jobs (bench/disk/fio-jobs.sh, in the guest and on the host alike): 4k random write
# and read IOPS and 1M sequential write and read MiB/s at iodepth 32 (libaio, direct), and 4k
# random read latency at iodepth 1 (p50/p99 us).
# Caching: tmpfs before Linux 6.6 refuses O_DIRECT, so when the image directory does, QEMU gets
# cache=writeback,aio=io_uring, vmkit cache=writeback and the host fio direct=0; where O_DIRECT
# works: QEMU cache=none,aio=native, vmkit cache=none, host direct=1. The script says which.
# Each (run, format) boots each monitor once, interleaved: odd runs in the --monitors order, even
# runs reversed, so that neither monitor always boots first (right after the host's fio or the
# other format's boots); use an even --runs. Medians over --runs. A boot that fails
# (the nested host hangs or resets guests now and then) is retried once and reported.
# Not a test: prints a table (and writes it to --out). On a PVM machine it re-runs itself in the
# nested test host.
# Usage: bench/disk/guest-fio.sh [--build DIR] [--runs N (4)] [--time S] [--size SIZE]
#          [--formats raw,qcow2,qcow2-prealloc] [--monitors vmkit,qemu] [--no-host]
#          [--kernel cloud|generic] [--qemu-aio io_uring|native|threads] [--out FILE]
#          (default out: bench/disk/last-run.md, not committed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/guest/lib.sh"
. "$here/lib.sh"

build=$root/build runs=4 seconds=10 size=1G formats=raw,qcow2,qcow2-prealloc monitors=vmkit,qemu
host_fio=1 flavour=cloud qemu_aio='' out=$root/bench/disk/last-run.md
args=("$@")
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --time) seconds=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --formats) formats=$2; shift 2 ;;
    --monitors) monitors=$2; shift 2 ;;
    --no-host) host_fio=; shift ;;
    --kernel) flavour=$2; shift 2 ;;
    --qemu-aio) qemu_aio=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1'" ;;
  esac
done
IFS=, read -r -a format_list <<<"$formats"
IFS=, read -r -a monitor_list <<<"$monitors"
boot_budget=$((5 * (seconds + 15) + 120))  # seconds one guest may take, fio start-up included

if [ -z "${VMKIT_NESTED_HOST:-}" ] && [ -e /sys/module/kvm_pvm ]; then
  log "PVM host: running the benchmark inside the nested test host"
  total=$((runs * ${#format_list[@]} * (${#monitor_list[@]} * boot_budget + 5 * seconds + 60) + 300))
  exec "$root/scripts/nested-host/run.sh" --timeout "$total" --rw "$root" -- "$0" "${args[@]}"
fi
[ -w /dev/kvm ] || die "no usable /dev/kvm"
for t in fio qemu-img debugfs fallocate; do command -v "$t" >/dev/null || die "$t missing"; done

case $flavour in
  cloud) kernel=${VMKIT_KERNEL_CLOUD:-$VMKIT_CACHE/kernel-cloud/vmlinuz}
         initrd=${VMKIT_INITRD_CLOUD:-$VMKIT_CACHE/images/initramfs-cloud.cpio.gz} ;;
  generic) kernel=${VMKIT_KERNEL:-$VMKIT_CACHE/kernel/vmlinuz}
           initrd=${VMKIT_INITRD:-$VMKIT_CACHE/images/initramfs.cpio.gz} ;;
  *) die "unknown kernel '$flavour' (cloud, generic)" ;;
esac
rootfs=${VMKIT_ROOTFS_DEBIAN:-$VMKIT_CACHE/images/rootfs-debian.ext4}
vmkit=${VMKIT_BINARY:-$build/vmkit}
for m in "${monitor_list[@]}"; do
  case $m in vmkit | qemu) ;; *) die "unknown monitor '$m' (vmkit, qemu)" ;; esac
done
check_inputs "${monitor_list[@]}"

# The images live on tmpfs: /tmp is a fresh tmpfs in the nested host.
work=$(mktemp -d /tmp/vmkit-disk-bench.XXXXXX)
monitor_pid=
cleanup() {
  [ -z "$monitor_pid" ] || kill -KILL "$monitor_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The guest root: a copy with the job script added (the root is shared read-only by every boot).
log "copying the Debian root to $work and adding the job script"
cp --sparse=always "$rootfs" "$work/root.ext4"
debugfs -w -R "write $here/fio-jobs.sh /usr/local/bin/gbench-fio" "$work/root.ext4" >/dev/null 2>&1 ||
  die "debugfs could not add the job script to the guest root"

# O_DIRECT on the image directory?
if dd if=/dev/zero of="$work/probe" bs=4096 count=1 oflag=direct status=none 2>/dev/null; then
  direct=1 qemu_cache=cache=none,aio=native vmkit_cache=none
else
  direct=0 qemu_cache=cache=writeback,aio=io_uring vmkit_cache=writeback
fi
rm -f "$work/probe"
[ -z "$qemu_aio" ] || qemu_cache=${qemu_cache%,aio=*},aio=$qemu_aio
log "image directory $(df --output=fstype "$work" | tail -n 1) on $(uname -r): O_DIRECT $([ $direct = 1 ] && echo yes || echo no) -> QEMU $qemu_cache, vmkit cache=$vmkit_cache, host fio direct=$direct"

run_cmd="sh /usr/local/bin/gbench-fio serial:gbench $seconds $size 1"
cmdline="console=ttyS0 quiet panic=-1 root=/dev/vda ro vmkit_run=\"$run_cmd\""

# one_boot MONITOR FORMAT: boots the guest on a fresh image; the GBENCH lines on stdout.
one_boot() {
  local monitor=$1 format=$2 image fmt status start
  read -r image fmt < <(make_image "$format") || { log "cannot make a $format image"; return 1; }
  monitor_command "$monitor" "$image" "$fmt"
  start=$EPOCHREALTIME
  timeout -k 5 "$boot_budget" "${cmd[@]}" </dev/null >"$work/console" 2>&1 &
  monitor_pid=$!
  wait "$monitor_pid" && status=0 || status=$?
  monitor_pid=
  tr -d '\r' <"$work/console" >"$work/console.txt"
  if [ "$status" != 0 ] || ! grep -q '^VMKIT-RUN-EXIT=0' "$work/console.txt" ||
     [ "$(grep -c '^GBENCH ' "$work/console.txt")" != 5 ]; then
    log "$monitor/$format: the guest run failed (monitor exit status $status$([ "$status" = 124 ] && echo ": timeout after ${boot_budget}s")); last lines:"
    tail -n 8 "$work/console.txt" | sed 's/^/  | /' >&2
    return 1
  fi
  log "$monitor/$format: guest run took $(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.0f", e - s }') s"
  grep '^GBENCH ' "$work/console.txt"
}

host_run() {
  rm -f "$work"/disk.*
  fallocate -l "$size" "$work/disk.raw"
  sh "$here/fio-jobs.sh" "$work/disk.raw" "$seconds" "$size" "$direct"
}

declare -A values   # values[system,format,figure] = "v1 v2 ..."
declare -A by_run   # by_run[system,format,figure,run] = v
declare -A failed retried
# keep SYSTEM FORMAT FIGURE VALUE (for the current $run)
keep() {
  values[$1,$2,$3]+="$4 "
  by_run[$1,$2,$3,$run]=$4
}
# record SYSTEM FORMAT < GBENCH lines
record() {
  local sys=$1 fmt=$2 tag job rkb riops wkb wiops p50 p99
  while read -r tag job rkb riops wkb wiops p50 p99; do
    [ "$tag" = GBENCH ] || continue
    case $job in
      randread) keep "$sys" "$fmt" rr "$riops" ;;
      randwrite) keep "$sys" "$fmt" rw "$wiops" ;;
      read) keep "$sys" "$fmt" sr "$(awk -v k="$rkb" 'BEGIN { printf "%.1f", k / 1024 }')" ;;
      write) keep "$sys" "$fmt" sw "$(awk -v k="$wkb" 'BEGIN { printf "%.1f", k / 1024 }')" ;;
      lat) keep "$sys" "$fmt" p50 "$p50"; keep "$sys" "$fmt" p99 "$p99" ;;
    esac
    log "  $sys/$fmt $job: read ${rkb} KiB/s ${riops} IOPS, write ${wkb} KiB/s ${wiops} IOPS, p50 ${p50} p99 ${p99} us"
  done
}

log "$runs runs, ${seconds} s per job, $size test disk, formats $formats, monitors $monitors, kernel $(cat "$(dirname "$kernel")/release" 2>/dev/null || echo "$kernel") ($flavour), 1 vCPU, 512 MiB"
start_all=$EPOCHREALTIME
for ((run = 1; run <= runs; run++)); do
  order=("${monitor_list[@]}")
  if ((run % 2 == 0)); then
    order=()
    for ((i = ${#monitor_list[@]} - 1; i >= 0; i--)); do order+=("${monitor_list[i]}"); done
  fi
  for format in "${format_list[@]}"; do
    for m in "${order[@]}"; do
      log "run $run: $m, $format"
      if lines=$(one_boot "$m" "$format"); then
        record "$m" "$format" <<<"$lines"
      else
        retried[$m,$format]=$((${retried[$m,$format]:-0} + 1))
        log "run $run: $m, $format: retrying once"
        if lines=$(one_boot "$m" "$format"); then
          record "$m" "$format" <<<"$lines"
        else
          failed[$m,$format]=$((${failed[$m,$format]:-0} + 1))
        fi
      fi
    done
  done
  if [ -n "$host_fio" ]; then
    log "run $run: host fio on the raw file"
    record host raw < <(host_run)
  fi
done
elapsed=$(awk -v s="$start_all" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (e - s) / 60 }')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
# paired FORMAT FIGURE: median over runs of vmkit/QEMU of the same run (the load drifts between
# runs; the two boots of one run are a minute apart).
paired() {
  local r out=
  for ((r = 1; r <= runs; r++)); do
    [ -n "${by_run[vmkit,$1,$2,$r]:-}" ] && [ -n "${by_run[qemu,$1,$2,$r]:-}" ] || continue
    out+="$(ratio "${by_run[vmkit,$1,$2,$r]}" "${by_run[qemu,$1,$2,$r]}") "
  done
  median <<<"$out"
}

{
  echo "Disk benchmark, $(date -u +%Y-%m-%dT%H:%MZ), nested test host ($(nproc) vCPUs, $(uname -r)), 1-vCPU 512 MiB guests, kernel $flavour, ${seconds} s per fio job, $size disk on tmpfs, median of $runs runs ($elapsed min in all)"
  echo "QEMU: -M q35, virtio-blk-pci with an iothread, num-queues=1, $qemu_cache; vmkit: cache=$vmkit_cache; host: fio on a raw file, direct=$direct"
  echo
  echo "| format | figure | vmkit | QEMU | vmkit/QEMU | per-run vmkit/QEMU, median | host (raw file) |"
  echo "|---|---|---|---|---|---|---|"
  for format in "${format_list[@]}"; do
    for f in rr:"4k randread IOPS (QD32)" rw:"4k randwrite IOPS (QD32)" sr:"1M read MiB/s" \
             sw:"1M write MiB/s" p50:"4k read QD1 p50 us" p99:"4k read QD1 p99 us"; do
      key=${f%%:*} label=${f#*:}
      v=$(median <<<"${values[vmkit,$format,$key]:-}")
      q=$(median <<<"${values[qemu,$format,$key]:-}")
      h=$(median <<<"${values[host,raw,$key]:-}")
      echo "| $format | $label | $v | $q | $(ratio "$v" "$q") | $(paired "$format" "$key") | $h |"
    done
  done
  echo
  for format in "${format_list[@]}"; do
    for m in "${monitor_list[@]}"; do
      n=$(count <<<"${values[$m,$format,rr]:-}")
      echo "$m/$format: $n of $runs runs measured, ${retried[$m,$format]:-0} boot(s) retried, ${failed[$m,$format]:-0} failed after the retry"
    done
  done
  echo "Latency rows: lower is better (a vmkit/QEMU ratio below 1 is vmkit ahead); the others: higher is better."
} | tee "$out"
