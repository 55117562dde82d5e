#!/bin/bash
# Boot benchmark (issue 2): Debian's stock cloud kernel + the guest initramfs, booted to the first
# userspace line (VMKIT-INIT-START, printed first thing by guest/init/init) and to the monitor's
# exit after the guest powers off (vmkit_run=true), under
#   vmkit run                                   (<build>/vmkit)
#   qemu-system-x86_64 -accel kvm -M q35        (SeaBIOS + direct kernel boot)
#   qemu-system-x86_64 -accel kvm -M microvm,rtc=on  (qboot, no PCI; rtc=on because without a
#                                               CMOS RTC the kernel's rtc_cmos probe stalls ~4 s
#                                               and the guest has no clock; vmkit and q35 have one)
# with the same kernel, initramfs, memory and vCPUs; median of --runs runs each, interleaved, then
# ratios. On a PVM machine it runs itself inside ONE nested test host. Not a test: it prints.
# Usage: bench/boot/boot-bench.sh [--build DIR] [--runs N] [--cpus N] [--memory MiB]
#                                 [--monitors vmkit,q35,microvm] [--csv FILE]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/guest/lib.sh"

build=$root/build runs=5 cpus=1 memory=512 monitors=vmkit,q35,microvm csv=
args=("$@")
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --monitors) monitors=$2; shift 2 ;;
    --csv) csv=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1'" ;;
  esac
done

if [ -z "${VMKIT_NESTED_HOST:-}" ] && [ -e /sys/module/kvm_pvm ]; then
  log "PVM host: running the benchmark inside the nested test host"
  exec "$root/scripts/nested-host/run.sh" --timeout 1500 --rw "$root" -- "$0" "${args[@]}"
fi
[ -w /dev/kvm ] || die "no usable /dev/kvm"

kernel=${VMKIT_KERNEL_CLOUD:-$VMKIT_CACHE/kernel-cloud/vmlinuz}
initrd=${VMKIT_INITRD_CLOUD:-$VMKIT_CACHE/images/initramfs-cloud.cpio.gz}
vmkit=${VMKIT_BINARY:-$build/vmkit}
for f in "$kernel" "$initrd"; do [ -f "$f" ] || die "$f missing: run scripts/setup.sh"; done
cmdline='console=ttyS0 quiet panic=-1 vmkit_run=true'

monitor_command() {
  case $1 in
    vmkit) cmd=("$vmkit" run --kernel "$kernel" --initrd "$initrd" --cmdline "$cmdline"
                --memory "${memory}M" --cpus "$cpus" --console stdio --no-reboot) ;;
    q35 | microvm)
      local machine=$1
      [ "$machine" != microvm ] || machine=microvm,rtc=on
      cmd=(qemu-system-x86_64 -accel kvm -cpu host -M "$machine" -smp "$cpus" -m "${memory}M"
           -nodefaults -display none -serial stdio -no-reboot
           -kernel "$kernel" -initrd "$initrd" -append "$cmdline") ;;
    *) die "unknown monitor '$1' (vmkit, q35, microvm)" ;;
  esac
}

# One boot: prints "FIRST_LINE_SECONDS EXIT_SECONDS", or fails with the last lines.
one_boot() {
  local monitor=$1 out first= start end status
  monitor_command "$monitor"
  out=$(mktemp)
  start=$EPOCHREALTIME
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$out"
    if [ -z "$first" ] && [[ $line == *VMKIT-INIT-START* ]]; then first=$EPOCHREALTIME; fi
  done < <(exec timeout -k 2 60 "${cmd[@]}" </dev/null 2>&1)
  wait $! && status=0 || status=$?
  end=$EPOCHREALTIME
  if [ "$status" != 0 ] || [ -z "$first" ] || ! grep -q '^VMKIT-RUN-EXIT=0' "$out"; then
    log "$monitor: boot failed (exit status $status); last lines:"
    tail -n 8 "$out" | sed 's/^/  | /' >&2
    rm -f "$out"
    return 1
  fi
  rm -f "$out"
  awk -v s="$start" -v f="$first" -v e="$end" 'BEGIN { printf "%.4f %.4f\n", f - s, e - s }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

IFS=, read -r -a list <<<"$monitors"
declare -A firsts exits failures by_run
for m in "${list[@]}"; do firsts[$m]= exits[$m]= failures[$m]=0; done
log "kernel $(cat "$(dirname "$kernel")/release" 2>/dev/null || echo "$kernel"), $cpus vCPU, $memory MiB, $runs runs each"
[ -z "$csv" ] || echo "monitor,run,first_line_s,exit_s" >"$csv"
for ((run = 1; run <= runs; run++)); do
  for m in "${list[@]}"; do
    if r=$(one_boot "$m"); then
      log "run $run $m: first line ${r% *}s, exit ${r#* }s"
      firsts[$m]+="${r% *} "
      exits[$m]+="${r#* } "
      by_run[$m,$run]=$r
      [ -z "$csv" ] || echo "$m,$run,${r% *},${r#* }" >>"$csv"
    else
      failures[$m]=$((failures[$m] + 1))
    fi
  done
done

declare -A mf me
printf '\n%-10s %8s %16s %16s\n' monitor ok "first line (s)" "exit (s)"
for m in "${list[@]}"; do
  mf[$m]=$(tr ' ' '\n' <<<"${firsts[$m]}" | { grep . || true; } | median)
  me[$m]=$(tr ' ' '\n' <<<"${exits[$m]}" | { grep . || true; } | median)
  printf '%-10s %4d/%-3d %16s %16s\n' "$m" $((runs - failures[$m])) "$runs" "${mf[$m]}" "${me[$m]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b == 0) print "n/a"; else printf "%.2fx", a / b }'; }
# The median of the ratios of the two boots of each run: they ran back to back, so a slow
# stretch of the shared machine hits both; the ratio of medians mixes runs.
paired() {
  local a=$1 b=$2 field=$3 run x y
  for ((run = 1; run <= runs; run++)); do
    x=${by_run[$a,$run]:-} y=${by_run[$b,$run]:-}
    [ -n "$x" ] && [ -n "$y" ] || continue
    if [ "$field" = 1 ]; then x=${x% *} y=${y% *}; else x=${x#* } y=${y#* }; fi
    awk -v a="$x" -v b="$y" 'BEGIN { print a / b }'
  done | median | awk '{ if ($1 == "nan") print "n/a"; else printf "%.2fx", $1 }'
}
echo
for pair in vmkit:q35 vmkit:microvm microvm:q35; do
  a=${pair%:*} b=${pair#*:}
  [ -n "${mf[$a]+x}" ] && [ -n "${mf[$b]+x}" ] || continue
  printf 'ratio %-16s first line %-8s exit %-8s (median of per-run ratios: %s, %s)\n' "$a/$b" \
    "$(ratio "${mf[$a]}" "${mf[$b]}")" "$(ratio "${me[$a]}" "${me[$b]}")" \
    "$(paired "$a" "$b" 1)" "$(paired "$a" "$b" 2)"
done
