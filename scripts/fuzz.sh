#!/bin/bash
# Runs every libFuzzer target of a VMKIT_FUZZ build for a bounded time each, starting from its
# seed corpus (fuzz/<name>/corpus, copied: the repository is never written). A crash, leak,
# sanitizer report or timeout fails the run and leaves the reproducer in the work directory.
# Usage: scripts/fuzz.sh [--build DIR] [--seconds S] [--jobs N] [NAME...]
#   --build DIR    the fuzz build (default build-fuzz: CC=clang CXX=clang++ cmake -S . -B build-fuzz
#                  -G Ninja -DVMKIT_FUZZ=ON && ninja -C build-fuzz)
#   --seconds S    time per target (default 30)
#   --jobs N       targets fuzzed at the same time (default: the number of CPUs)
#   NAME           only these targets (qcow2, virtqueue, ...); default all
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/guest/lib.sh"

build=$root/build-fuzz seconds=30 jobs=$(nproc)
names=()
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) names+=("$1"); shift ;;
  esac
done
build=$(cd "$build" 2>/dev/null && pwd) || die "no fuzz build directory (see --help)"
if [ ${#names[@]} -eq 0 ]; then
  for dir in "$root"/fuzz/*/; do
    [ -f "$dir/CMakeLists.txt" ] && names+=("$(basename "$dir")")
  done
fi

work=$build/fuzz-runs
mkdir -p "$work"
# fuzz_one NAME: one bounded run; prints one line (and the log's tail on a finding), and leaves
# "failed" in the target's work directory on a finding.
fuzz_one() {
  local name=$1 bin dir seeds
  bin=$(find "$build" -name "fuzz_$name" -type f -perm -u+x | head -n 1)
  dir=$work/$name
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  cp -r "$root/fuzz/$name/corpus/." "$dir/corpus/"
  seeds=$(ls "$dir/corpus" | wc -l)
  if (cd "$dir" && "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 corpus >"$dir/log" 2>&1); then
    echo "fuzz_$name: ${seconds}s from $seeds seeds ... ok, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" |
      grep -o '[0-9]*$') runs, corpus $(ls "$dir/corpus" | wc -l)"
  else
    { echo "fuzz_$name: ${seconds}s from $seeds seeds ... FAILED"; tail -n 40 "$dir/log"; } |
      tee "$dir/failed"
  fi
}
for name in "${names[@]}"; do
  [ -n "$(find "$build" -name "fuzz_$name" -type f -perm -u+x | head -n 1)" ] ||
    die "fuzz_$name is not built in $build"
done
running=0
for name in "${names[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  fuzz_one "$name" &
  running=$((running + 1))
done
wait
failed=()
for name in "${names[@]}"; do
  [ ! -e "$work/$name/failed" ] || failed+=("$name")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]} (reproducers and logs in $work)" >&2
  exit 1
fi
echo "fuzz.sh: all ${#names[@]} targets ran ${seconds}s without a finding ($jobs at a time)"
