#!/bin/sh
# The fio jobs of bench/disk/guest-fio.sh, run the same way inside the guest (on the disk whose
# virtio serial is "gbench") and by the nested host itself (on the image file: the limit).
# Usage: fio-jobs.sh TARGET SECONDS SIZE DIRECT
#   TARGET   a file or block device, or "serial:NAME" (the /dev/vdX whose serial is NAME)
#   SECONDS  length of each job (time_based)   SIZE  region to use (fio size, e.g. 1G)
#   DIRECT   1: O_DIRECT; 0: buffered (tmpfs on Linux < 6.6 has no O_DIRECT)
# Jobs, in this order (writes first, so that a fresh qcow2 allocates in the write jobs and the
# read jobs read written clusters):
#   randwrite  4k random writes, libaio, iodepth 32     write  1M sequential writes, iodepth 32
#   randread   4k random reads, libaio, iodepth 32      read   1M sequential reads, iodepth 32
#   lat        4k random reads, iodepth 1 (completion latency p50/p99)
# Prints one line per job (short: the serial console of a nested guest is slow):
#   GBENCH <job> <read KiB/s> <read IOPS> <write KiB/s> <write IOPS> <p50 us> <p99 us>
# and "GBENCH-ERROR <what>" on failure (exit 1).
set -u
target=$1 seconds=$2 size=$3 direct=$4
case $target in
  serial:*)
    want=${target#serial:} target=
    for s in /sys/block/*/serial; do
      [ -r "$s" ] && [ "$(cat "$s")" = "$want" ] && target=/dev/$(basename "$(dirname "$s")")
    done
    [ -n "$target" ] || { echo "GBENCH-ERROR no disk with serial $want"; exit 1; }
    ;;
esac

status=0
job() {
  name=$1
  shift
  if ! out=$(fio --name="$name" --filename="$target" --direct="$direct" --ioengine=libaio \
               --time_based --runtime="$seconds" --size="$size" --norandommap --randrepeat=0 \
               --output-format=terse --terse-version=3 "$@" 2>&1); then
    echo "GBENCH-ERROR $name: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
    status=1
    return
  fi
  # terse v3: 7/8 read KiB/s and IOPS, 48/49 write KiB/s and IOPS, 18-37 read completion
  # latency percentiles ("50.000000%=123", microseconds).
  echo "$out" | awk -F';' -v n="$name" '$1 == 3 {
    p50 = "-"; p99 = "-"
    for (i = 18; i <= 37; i++) {
      split($i, kv, "=")
      if (kv[1] == "50.000000%") p50 = kv[2]
      if (kv[1] == "99.000000%") p99 = kv[2]
    }
    print "GBENCH", n, $7, $8, $48, $49, p50, p99 }'
}

job randwrite --rw=randwrite --bs=4k --iodepth=32
job write --rw=write --bs=1M --iodepth=32
job randread --rw=randread --bs=4k --iodepth=32
job read --rw=read --bs=1M --iodepth=32
job lat --rw=randread --bs=4k --iodepth=1
exit $status
