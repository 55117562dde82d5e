#!/bin/bash
# Runs every test that needs KVM (the CTest tree <build>/guest-tests: the guest tests, label
# `guest`, and the native payload tests, label `native`) inside the nested test host: each test
# program in a nested host of its own (about 8 s to start and stop), so that a nested host that fails
# (its kernel locks up, panics or stops answering: the TCG failure of docs/testing.md,
# "Flakiness") costs one program, which is then run once more in a fresh nested host, loudly.
# A second failure of the nested host fails the run. At the end it prints how many guest runs
# were retried under the nested-host rule and how many programs needed a fresh nested host.
# CTest runs this as the test `guest_tests_in_nested_host`.
# Usage: scripts/test-guests.sh [--build DIR] [--timeout S] [-- CTEST_ARGS...]
#   --build DIR   the CMake build directory (default: ./build)
#   --timeout S   bound for all the nested host runs together (default 1500)
#   CTEST_ARGS    select and show tests as for ctest, e.g. -R guest_qemu_test, -LE smp4 or -V
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../guest/lib.sh"

build=build timeout=1500
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --) shift; break ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1'" ;;
  esac
done
build=$(cd "$build" && pwd) || die "no build directory '$build'"
tree=$build/guest-tests
[ -f "$tree/CTestTestfile.cmake" ] ||
  die "$tree has no tests: configure and build first (cmake -S . -B build -G Ninja && ninja -C build)"

# The selected tests: "name timeout" per line (CTest's own view, so -R/-L/-E apply as usual).
mapfile -t selected < <(ctest --test-dir "$tree" --show-only=json-v1 "$@" | python3 -c '
import json, sys
for t in json.load(sys.stdin)["tests"]:
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    print(t["name"], int(float(props.get("TIMEOUT", 600))))
')
[ ${#selected[@]} -gt 0 ] || die "no guest test matches: ctest ${*:-}"
retry_log=$tree/retries.log
: >"$retry_log"
export VMKIT_GUEST_RETRY_LOG=$retry_log
deadline=$((SECONDS + timeout))
failed=() restarted=()
index=0
for entry in "${selected[@]}"; do
  name=${entry% *} test_timeout=${entry##* }
  # -I N,N picks the Nth test of the selection that CTEST_ARGS make.
  index=$((index + 1))
  for attempt in 1 2; do
    left=$((deadline - SECONDS))
    [ "$left" -gt 30 ] || { log "error: out of time (--timeout $timeout) before $name"; failed+=("$name"); break; }
    # The test's own CTest timeout, plus the nested host's start and stop.
    bound=$((test_timeout + 60))
    [ "$bound" -le "$left" ] || bound=$left
    rm -f "$tree/Testing/Temporary/LastTest.log"
    set +e
    "$here/nested-host/run.sh" --timeout "$bound" --rw "$build" \
      --keep-log "$tree/nested-kernel-$name.log" -- \
      ctest --test-dir "$tree" --output-on-failure --no-tests=error "$@" -I "$index,$index"
    status=$?
    set -e
    # CTest keeps the output of passing tests only in LastTest.log, which the next program
    # overwrites: keep it, and show what each retry inside the program was.
    if [ -f "$tree/Testing/Temporary/LastTest.log" ]; then
      cp "$tree/Testing/Temporary/LastTest.log" "$tree/ctest-$name.log"
      if [ "$status" = 0 ] && grep -q '^\[ RETRY    \]' "$tree/ctest-$name.log"; then
        echo "$name passed with a retry; what the first attempt showed (from $tree/ctest-$name.log):"
        awk '/^\[ RETRY    \]/ { on = 1; n = 0 } on && n++ < 60 { print "  | " $0 } /^\[ +(OK|FAILED) +\]/ { on = 0 }' \
          "$tree/ctest-$name.log"
      fi
    fi
    case $status in
      0) break ;;
      123 | 124 | 125)
        if [ "$attempt" = 1 ]; then
          echo "[ RETRY    ] $name: the nested host failed (run.sh exit $status, nested kernel log in $tree/nested-kernel-$name.log); running it once more in a fresh nested host"
          cp "$tree/nested-kernel-$name.log" "$tree/nested-kernel-$name.failed.log" 2>/dev/null || true
          restarted+=("$name (exit $status)")
          continue
        fi
        failed+=("$name") ;;
      *) failed+=("$name") ;;
    esac
    break
  done
done

retries=$(grep -c . "$retry_log" || true)
echo "guest tests: $retries guest run(s) retried under the nested-host rule; ${#restarted[@]} program(s) run again in a fresh nested host"
if [ "$retries" -gt 0 ]; then
  while IFS=$'\t' read -r test outcome reason; do
    echo "  retried $test ($outcome on retry): $reason"
  done <"$retry_log"
fi
for r in "${restarted[@]}"; do echo "  fresh nested host for $r"; done
if [ ${#failed[@]} -gt 0 ]; then
  log "error: failed: ${failed[*]}"
  exit 1
fi
echo "guest tests: all ${#selected[@]} program(s) passed"
