#!/bin/bash
# Network benchmark (issue 4), inside ONE nested test host, in one run, 1-vCPU guests:
#   vmkit   vmkit run ... --net tap,ifname=vmkbtap0           (virtio-net, userspace, tap)
#   qemu    qemu-system-x86_64 -accel kvm -M q35 with virtio-net-pci on a tap, vhost=off
#   veth    a veth pair between two namespaces: the host's own limit, no guest
# For each: iperf3 host->guest and guest->host with 1 and 4 streams (TCP, 10 s, Gbit/s as the
# receiver counts them) and a TCP request/response ping-pong of 1-byte messages (bench/net/tcp_rr.c,
# netperf TCP_RR style: p50/p99 round trip in microseconds, transactions per second). Everything
# runs in network namespaces the script creates and deletes; the guest's side is 10.10.0.2, the
# host's 10.10.0.1. The guest: Debian's generic kernel + the guest initramfs, the Debian root
# (guest/build-rootfs.sh debian, with guest/net-tools.sh's additions: iperf3, tcp_rr) read-only
# on virtio-blk, 1 vCPU, 1 GiB, a static address.
# --runs N: every system is measured N times, interleaved (vmkit, qemu, veth, vmkit, ...), the
# table gives medians and the vmkit/QEMU ratios. A guest that fails to come up (the nested host
# hangs or resets guests now and then) is retried once, and the retry is reported.
# Not a test: it prints a table (and writes it to --out). On a PVM machine it re-runs itself in the
# nested test host.
# Usage: bench/net/run.sh [--build DIR] [--systems vmkit,qemu,veth] [--runs N] [--time S]
#                         [--rr-count N] [--out FILE]   (default out: bench/net/last-run.md)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/guest/lib.sh"

build=$root/build systems=vmkit,qemu,veth runs=3 seconds=10 rr_count=2000 out=$root/bench/net/last-run.md
args=("$@")
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --systems) systems=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --time) seconds=$2; shift 2 ;;
    --rr-count) rr_count=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1'" ;;
  esac
done

if [ -z "${VMKIT_NESTED_HOST:-}" ] && [ -e /sys/module/kvm_pvm ]; then
  log "PVM host: running the benchmark inside the nested test host"
  exec "$root/scripts/nested-host/run.sh" --timeout $((runs * 3 * (4 * seconds + 150) + 300)) --memory 4096 --rw "$root" -- "$0" "${args[@]}"
fi
[ -w /dev/kvm ] || die "no usable /dev/kvm"
command -v iperf3 >/dev/null || die "iperf3 missing"
command -v python3 >/dev/null || die "python3 missing"

kernel=${VMKIT_KERNEL:-$VMKIT_CACHE/kernel/vmlinuz}
initrd=${VMKIT_INITRD:-$VMKIT_CACHE/images/initramfs.cpio.gz}
rootfs=${VMKIT_ROOTFS_DEBIAN:-$VMKIT_CACHE/images/rootfs-debian.ext4}
vmkit=${VMKIT_BINARY:-$build/vmkit}
for f in "$kernel" "$initrd" "$rootfs"; do
  [ -f "$f" ] || die "$f missing (scripts/setup.sh --debian-rootfs)"
done

ns=vmkbench ns_a=vmkbench-a ns_b=vmkbench-b tap=vmkbtap0
guest_ip=10.10.0.2 host_ip=10.10.0.1 mac=52:54:00:00:10:02
work=$(mktemp -d /var/tmp/vmkit-net-bench.XXXXXX)
monitor_pid=
cleanup() {
  [ -z "$monitor_pid" ] || kill -KILL "$monitor_pid" 2>/dev/null || true
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
  for n in "$ns" "$ns_a" "$ns_b"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The nested host loads tun; veth comes from the guest kernel's modules (same kernel).
load_module() {
  [ -d "/sys/module/$1" ] && return 0
  modprobe "$1" 2>/dev/null || modprobe -d "$VMKIT_CACHE/kernel/root" "$1" ||
    die "cannot load module $1"
}
load_module tun
load_module veth

in_ns() { ip netns exec "$1" "${@:2}"; }

# iperf3 -J result -> Gbit/s received.
gbits() {
  python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.2f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))'
}

declare -A result  # result[system,figure] = "v1 v2 ..." (one value per run)
# run_client NAME NS SERVER_IP: the iperf3 and ping-pong clients from namespace NS.
run_client() {
  local name=$1 n=$2 server=$3 streams dir flags v
  for streams in 1 4; do
    for dir in rx tx; do
      flags=()
      [ "$dir" = tx ] && flags=(-R)  # -R: the server (guest) sends: guest transmit
      v=$(in_ns "$n" timeout $((seconds + 30)) iperf3 -c "$server" -t "$seconds" -P "$streams" -J "${flags[@]}" | gbits) || v=
      log "$name $dir P$streams: ${v:-failed} Gbit/s"
      result[$name,$dir,$streams]+="$v "
    done
  done
  local rr
  rr=$(in_ns "$n" timeout 300 "$work/tcp_rr" -c "$server" 5555 "$rr_count" 1) || rr=
  log "$name rr: ${rr:-failed}"
  result[$name,p50]+="$(sed -n 's/.*p50_us=\([0-9.]*\).*/\1/p' <<<"$rr") "
  result[$name,p99]+="$(sed -n 's/.*p99_us=\([0-9.]*\).*/\1/p' <<<"$rr") "
  result[$name,tps]+="$(sed -n 's/.*trans_per_s=\([0-9]*\).*/\1/p' <<<"$rr") "
}

gcc -O2 -static -o "$work/tcp_rr" "$here/tcp_rr.c"
# The guest root, shared read-only by every boot (the guest writes only to its tmpfs).
cp --sparse=always "$rootfs" "$work/root.ext4"

# stop_guest: kills the monitor and deletes the guest's namespace (with its tap).
stop_guest() {
  [ -z "$monitor_pid" ] || { kill -KILL "$monitor_pid" 2>/dev/null || true; wait "$monitor_pid" 2>/dev/null || true; }
  monitor_pid=
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
}

# bench_guest NAME: boots the guest and measures; returns 1 if the guest did not come up.
bench_guest() {
  local name=$1
  ip netns add "$ns"
  in_ns "$ns" ip link set lo up
  in_ns "$ns" ip tuntap add dev "$tap" mode tap
  in_ns "$ns" ip addr add "$host_ip/24" dev "$tap"
  in_ns "$ns" ip link set "$tap" up
  local run="ip link set lo up; ip addr add $guest_ip/24 dev eth0; ip link set eth0 up; iperf3 -s -D; tcp_rr -s 5555 & echo BENCH-READY; sleep 100000"
  local cmdline="console=ttyS0 quiet panic=-1 root=/dev/vda ro vmkit_run=\"$run\""
  local cmd
  case $name in
    vmkit)
      cmd=("$vmkit" run --kernel "$kernel" --initrd "$initrd" --cmdline "$cmdline" --memory 1024M
           --cpus 1 --console stdio --disk "path=$work/root.ext4,format=raw,readonly=on"
           --net "tap,ifname=$tap,mac=$mac") ;;
    qemu)
      cmd=(qemu-system-x86_64 -accel kvm -cpu host -M q35 -smp 1 -m 1024M -nodefaults -display none
           -serial stdio -kernel "$kernel" -initrd "$initrd" -append "$cmdline"
           -drive "file=$work/root.ext4,if=virtio,format=raw,readonly=on"
           -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=off"
           -device "virtio-net-pci,netdev=n0,mac=$mac") ;;
  esac
  in_ns "$ns" "${cmd[@]}" </dev/null >"$work/$name.console" 2>&1 &
  monitor_pid=$!
  local i
  for ((i = 0; i < 240; i++)); do
    grep -q BENCH-READY "$work/$name.console" && break
    kill -0 "$monitor_pid" 2>/dev/null || break
    sleep 0.5
  done
  if ! grep -q BENCH-READY "$work/$name.console"; then
    log "$name: the guest did not come up ($(kill -0 "$monitor_pid" 2>/dev/null && echo "no BENCH-READY within 120 s" || echo "the monitor exited")); last lines:"
    tr -d '\r' <"$work/$name.console" | tail -n 12 | sed 's/^/  | /' >&2
    stop_guest
    return 1
  fi
  sleep 1
  run_client "$name" "$ns" "$guest_ip"
  stop_guest
}

bench_veth() {
  ip netns add "$ns_a"
  ip netns add "$ns_b"
  ip link add vmkb-a netns "$ns_a" type veth peer name vmkb-b netns "$ns_b"
  in_ns "$ns_a" ip addr add "$host_ip/24" dev vmkb-a
  in_ns "$ns_b" ip addr add "$guest_ip/24" dev vmkb-b
  for n in "$ns_a" "$ns_b"; do
    in_ns "$n" ip link set lo up
  done
  in_ns "$ns_a" ip link set vmkb-a up
  in_ns "$ns_b" ip link set vmkb-b up
  in_ns "$ns_b" iperf3 -s -D
  in_ns "$ns_b" "$work/tcp_rr" -s 5555 </dev/null >/dev/null 2>&1 &
  disown
  sleep 1
  run_client veth "$ns_a" "$guest_ip"
  ip netns pids "$ns_b" | xargs -r kill -KILL 2>/dev/null || true
  ip netns del "$ns_a"
  ip netns del "$ns_b"
}

IFS=, read -r -a wanted <<<"$systems"
for s in "${wanted[@]}"; do
  case $s in
    vmkit) [ -x "$vmkit" ] || die "$vmkit missing (build first)"
           "$vmkit" run --help 2>&1 | grep -q -- --net || die "$vmkit has no --net" ;;
    qemu | veth) ;;
    *) die "unknown system '$s' (vmkit, qemu, veth)" ;;
  esac
done
declare -A retried failed
start_all=$EPOCHREALTIME
for ((run = 1; run <= runs; run++)); do
  for s in "${wanted[@]}"; do
    log "run $run: $s"
    case $s in
      vmkit | qemu)
        if ! bench_guest "$s"; then
          retried[$s]=$((${retried[$s]:-0} + 1))
          log "run $run: $s: retrying once"
          bench_guest "$s" || failed[$s]=$((${failed[$s]:-0} + 1))
        fi ;;
      veth) bench_veth ;;
    esac
  done
done
elapsed=$(awk -v s="$start_all" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (e - s) / 60 }')

median() { tr ' ' '\n' | { grep . || true; } | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2fx", a / b }'; }
figures=("rx,1" "rx,4" "tx,1" "tx,4" p50 p99 tps)
declare -A med
for s in "${wanted[@]}"; do
  for f in "${figures[@]}"; do med[$s,$f]=$(median <<<"${result[$s,$f]:-}"); done
done
{
  echo "Network benchmark, $(date -u +%Y-%m-%dT%H:%MZ), nested test host ($(nproc) vCPUs, $(uname -r)), 1-vCPU 1 GiB guests, ${seconds} s per iperf3 run, $rr_count round trips per RR run, median of $runs runs ($elapsed min in all)"
  echo
  echo "| system | host->guest P1 | host->guest P4 | guest->host P1 | guest->host P4 | RR p50 us | RR p99 us | RR trans/s |"
  echo "|---|---|---|---|---|---|---|---|"
  for s in "${wanted[@]}"; do
    line="| $s |"
    for f in "${figures[@]}"; do line+=" ${med[$s,$f]} |"; done
    echo "$line"
  done
  if [ -n "${med[vmkit,rx,1]+x}" ] && [ -n "${med[qemu,rx,1]+x}" ]; then
    line="| vmkit/qemu |"
    for f in "${figures[@]}"; do line+=" $(ratio "${med[vmkit,$f]}" "${med[qemu,$f]}") |"; done
    echo "$line"
  fi
  echo
  echo "Throughput in Gbit/s (iperf3 TCP, receiver side; host->guest: the guest receives). veth: between two namespaces of the nested host, no guest (its limit). Latency: lower is better, so a vmkit/qemu ratio below 1 there is vmkit ahead."
  for s in "${wanted[@]}"; do
    [ "$s" != veth ] || continue
    echo "$s: ${retried[$s]:-0} boot(s) retried, ${failed[$s]:-0} run(s) failed after the retry; values per run: rx,1 [${result[$s,rx,1]:-}] p50 [${result[$s,p50]:-}]"
  done
} | tee "$out"
