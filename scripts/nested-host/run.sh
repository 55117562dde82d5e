#!/bin/bash
# Runs COMMAND inside the nested test host: QEMU TCG emulating an AMD CPU with SVM, booting
# Debian's generic kernel, where kvm_amd gives a real /dev/kvm (see docs/testing.md).
# The machine's / is shared read-only, the work directories read-write; COMMAND runs in a chroot
# of it, in the current directory, with the current environment plus VMKIT_NESTED_HOST=1. Its
# output is streamed. /tmp and /run inside are fresh tmpfs: put files COMMAND needs elsewhere.
#
# Usage: scripts/nested-host/run.sh [options] -- COMMAND [ARG...]
#   --timeout S     stop the nested host after S seconds (default 1800)
#   --rw DIR        share DIR read-write (repeatable; default: the current directory)
#   --interactive   give COMMAND the terminal (the console becomes its controlling terminal)
#   --memory MB     nested host memory (default 4096)
#   --cpus N        nested host vCPUs (default 2)
#   --append ARGS   more kernel command line for the nested host (e.g. kvm_amd.npt=0)
#   --no-tsc-reliable  leave tsc=reliable off the nested host's command line (for experiments)
#   --cpu-model M   QEMU's -cpu for the nested host (default max,erms=off)
#   --verbose       also show the nested host's kernel log and timing
#   --keep-log FILE copy the nested host's kernel log to FILE when the run ends (any outcome)
# Exit status: COMMAND's; 123 if the nested host's kernel locked up or stopped responding (a soft
# lockup of a minute, or 90 s without the init's heartbeat: the TCG failures of docs/testing.md,
# "Flakiness"; the run is stopped at once); 124 if the timeout
# expired; 125 if the nested host failed to start or could not run COMMAND (no /dev/kvm inside,
# share not mountable, kernel panic, ...).
# Needs: guest/fetch-kernel.sh and scripts/nested-host/build-initramfs.sh (scripts/setup.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../guest/lib.sh"

timeout=1800 memory=4096 cpus=2 interactive= verbose= extra_append= tsc=tsc=reliable keep_log=
# erms=off: with ERMS the kernels (nested host and guests) zero and copy memory with `rep stosb` and
# `rep movsb`, which TCG executes a byte at a time; without it they use `rep stosq`/`movsq` and
# plain loops. Every guest boot in the nested host takes about 40% less time (docs/testing.md).
cpu_model=max,erms=off
rw=()
while [ $# -gt 0 ]; do
  case $1 in
    --timeout) timeout=$2; shift 2 ;;
    --rw) rw+=("$(cd "$2" && pwd)"); shift 2 ;;
    --interactive) interactive=1; shift ;;
    --memory) memory=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --verbose) verbose=1; shift ;;
    --keep-log) keep_log=$2; shift 2 ;;
    --append) extra_append+=" $2"; shift 2 ;;
    --no-tsc-reliable) tsc=; shift ;;
    --cpu-model) cpu_model=$2; shift 2 ;;
    --) shift; break ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (usage: $0 [--timeout S] [--rw DIR]... -- COMMAND...)" ;;
  esac
done
[ $# -gt 0 ] || die "no command given (usage: $0 [--timeout S] -- COMMAND...)"
[ ${#rw[@]} -gt 0 ] || rw=("$PWD")

kernel=$VMKIT_CACHE/kernel/vmlinuz
initrd=$VMKIT_CACHE/nested-host/initramfs.cpio.gz
[ -f "$kernel" ] || { log "error: $kernel is missing; run scripts/setup.sh"; exit 125; }
# Cheap when up to date; keeps the initramfs in step with scripts/nested-host/init.
"$here/build-initramfs.sh" 2>/dev/null || "$here/build-initramfs.sh" || exit 125
command -v qemu-system-x86_64 >/dev/null || { log "error: qemu-system-x86_64 missing; run scripts/setup.sh"; exit 125; }

# The control directory lives on the machine's / and is read through the read-only root share
# before the nested host mounts its own /tmp.
ctl=$(mktemp -d /tmp/vmkit-nested.XXXXXX)
qemu_pid=
cleanup() {
  [ -z "$qemu_pid" ] || kill -KILL "$qemu_pid" 2>/dev/null || true
  [ -z "$keep_log" ] || tr -d '\r' <"$ctl/kernel.log" >"$keep_log" 2>/dev/null || true
  rm -rf "$ctl"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

: >"$ctl/mounts"
share_args=()
i=0
for dir in "${rw[@]}"; do
  echo "work$i $dir" >>"$ctl/mounts"
  share_args+=(-virtfs "local,path=$dir,mount_tag=work$i,security_model=passthrough,multidevs=remap")
  i=$((i + 1))
done
# The environment, minus what belongs to this shell only.
export -p | grep -Ev '^declare -x (BASHOPTS|SHELLOPTS|BASH_[A-Z_]*|SHLVL|_|OLDPWD|PWD)(=|$)' >"$ctl/env"
{
  echo '. /run/vmkit-nested/env'
  echo 'export VMKIT_NESTED_HOST=1'
  printf 'cd %q || exit 125\n' "$PWD"
  printf 'exec'
  printf ' %q' "$@"
  echo
} >"$ctl/command"
: >"$ctl/kernel.log"
: >"$ctl/heartbeat"

# The kernel logs to ttyS1 (a file), so the command's output on ttyS0 stays clean.
# maxcpus=1: the init brings the other CPUs online once kvm-hold holds its VM (init, kvm-hold.c).
append="console=ttyS1 $tsc panic=1 edd=off maxcpus=1 rdinit=/init vmkit_ctl=$ctl$extra_append"
[ -z "$interactive" ] || append+=" vmkit_interactive"
qemu=(qemu-system-x86_64 -accel tcg,thread=multi -M q35 -cpu "$cpu_model" -smp "$cpus" -m "$memory"
      -display none -nodefaults -no-reboot -net none
      -kernel "$kernel" -initrd "$initrd" -append "$append"
      -serial mon:stdio -serial "file:$ctl/kernel.log" -serial "file:$ctl/heartbeat"
      -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
      "${share_args[@]}")

start=$EPOCHREALTIME
elapsed() { awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
# A nested kernel that locked up never recovers: once the soft-lockup watchdog reports a CPU
# stuck for a minute or more, or the init's heartbeat (every 5 s on ttyS2) has been silent for
# 90 s, the nested host is stopped instead of waiting for the timeout.
lockup_pattern='soft lockup - CPU#[0-9]+ stuck for ([6-9][0-9]|[0-9]{3,})s'
heartbeat_silence=90
watch_lockup() {
  local last_size=0 last_change=$SECONDS size
  while sleep 5; do
    if grep -qE "$lockup_pattern" "$ctl/kernel.log"; then
      echo "its kernel locked up ($(grep -oE -m1 "$lockup_pattern" "$ctl/kernel.log"))" >"$ctl/locked-up"
    fi
    size=$(stat -c %s "$ctl/heartbeat" 2>/dev/null || echo 0)
    if [ "$size" != "$last_size" ]; then
      last_size=$size last_change=$SECONDS
    elif [ "$size" != 0 ] && [ $((SECONDS - last_change)) -ge "$heartbeat_silence" ]; then
      echo "it stopped responding (no heartbeat for ${heartbeat_silence}s, last uptime $(tail -n 1 "$ctl/heartbeat" | cut -d' ' -f1)s)" >"$ctl/locked-up"
    fi
    if [ -e "$ctl/locked-up" ]; then
      pkill -KILL -f "^qemu-system-x86_64 .*vmkit_ctl=$ctl( |\$)" || true
      return
    fi
  done
}
watch_lockup &
watcher=$!
if [ -n "$interactive" ]; then
  set +e
  timeout --foreground -k 5 "$timeout" "${qemu[@]}" 2>"$ctl/qemu.err"
  qemu_status=$?
  set -e
else
  # Console to our stdout and to a log (for the last lines on failure).
  set +e
  # (stderr of the group to /dev/null: bash's "Killed" notice when the watcher stops QEMU)
  {
    timeout -k 5 "$timeout" "${qemu[@]}" </dev/null 2>"$ctl/qemu.err" | tee "$ctl/console.log"
    qemu_status=${PIPESTATUS[0]}
  } 2>/dev/null
  set -e
fi

kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true

control=$(tr -d '\r' <"$ctl/kernel.log" | sed -n 's/^VMKIT-NESTED: //p')
last_lines() {
  # The first signs of trouble in the nested kernel (a lockup, a stall, a hung task, an oops)
  # usually scroll out of its last lines.
  local trouble
  trouble=$(tr -d '\r' <"$ctl/kernel.log" | grep -E -m 12 \
    'BUG|WARNING:|INFO: |watchdog|rcu.*stall|Oops|[Pp]anic|lockup|blocked for more|Call Trace' || true)
  if [ -n "$trouble" ]; then
    log "first signs of trouble in the nested host's kernel log:"
    echo "$trouble" | sed 's/^/  | /' >&2
  fi
  log "last lines of the nested host's kernel log:"
  tr -d '\r' <"$ctl/kernel.log" | tail -n 30 | sed 's/^/  | /' >&2
  if [ -s "$ctl/console.log" ]; then
    log "last lines of COMMAND's output:"
    tail -n 15 "$ctl/console.log" | sed 's/^/  | /' >&2
  fi
  if [ -s "$ctl/qemu.err" ]; then
    log "qemu's stderr:"
    tail -n 10 "$ctl/qemu.err" | sed 's/^/  | /' >&2
  fi
}
if [ -e "$ctl/locked-up" ]; then
  log "error: the nested host failed: $(cat "$ctl/locked-up"); stopped it (docs/testing.md, \"Flakiness\")"
  last_lines
  exit 123
fi
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
  case $control in
    *START*) log "error: timeout: COMMAND still running after ${timeout}s; nested host stopped" ;;
    *) log "error: timeout: the nested host did not start within ${timeout}s" ;;
  esac
  last_lines
  exit 124
fi
if err=$(echo "$control" | grep -m1 '^ERROR=' | cut -d= -f2-); [ -n "$err" ]; then
  log "error: the nested host could not run the command: $err"
  last_lines
  exit 125
fi
status=$(echo "$control" | grep -m1 '^EXIT=' | cut -d= -f2- || true)
if [ -z "$status" ]; then
  case $control in
    *START*) log "error: the nested host died while COMMAND was running (qemu exit $qemu_status)" ;;
    *) log "error: the nested host failed to start (qemu exit $qemu_status)" ;;
  esac
  last_lines
  exit 125
fi
if [ -n "$verbose" ]; then
  log "nested host kernel log:"
  tr -d '\r' <"$ctl/kernel.log" | sed 's/^/  | /' >&2
  log "COMMAND exited $status; the nested host ran $(elapsed)s in total"
fi
exit "$status"
