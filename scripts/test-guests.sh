#!/bin/bash
# Runs every test that needs KVM (the CTest tree <build>/guest-tests: the guest tests, label
# `guest`, and the native payload tests, label `native`) inside ONE nested test host, then prints
# how many guest runs were retried under the nested-host rule (docs/testing.md).
# CTest runs this as the test `guest_tests_in_nested_host`.
# Usage: scripts/test-guests.sh [--build DIR] [--timeout S] [-- CTEST_ARGS...]
#   --build DIR   the CMake build directory (default: ./build)
#   --timeout S   bound for the whole nested host run (default 1500)
#   CTEST_ARGS    passed to ctest inside, e.g. -R guest_qemu_test or -V
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
[ -f "$build/guest-tests/CTestTestfile.cmake" ] ||
  die "$build/guest-tests has no tests: configure and build first (cmake -S . -B build -G Ninja && ninja -C build)"

retry_log=$build/guest-tests/retries.log
: >"$retry_log"
export VMKIT_GUEST_RETRY_LOG=$retry_log
set +e
"$here/nested-host/run.sh" --timeout "$timeout" --rw "$build" -- \
  ctest --test-dir "$build/guest-tests" --output-on-failure --no-tests=error "$@"
status=$?
set -e
retries=$(grep -c . "$retry_log" || true)
echo "guest tests: $retries guest run(s) retried under the nested-host rule"
if [ "$retries" -gt 0 ]; then
  while IFS=$'\t' read -r test outcome reason; do
    echo "  retried $test ($outcome on retry): $reason"
  done <"$retry_log"
fi
exit "$status"
