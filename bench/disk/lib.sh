# Shared by the guest disk benchmarks (guest-fio.sh, read-counters.sh); sourced after
# guest/lib.sh. They set: work (the image directory), size (the test disk's size), kernel,
# initrd, rootfs, cmdline, vmkit, vmkit_cache, qemu_cache (QEMU's -drive cache/aio options).

# check_inputs MONITOR...: dies unless the guest files ($kernel, $initrd, $rootfs) and each
# monitor's binary are there.
check_inputs() {
  local f m
  for f in "$kernel" "$initrd" "$rootfs"; do
    [ -f "$f" ] || die "$f missing (scripts/setup.sh --debian-rootfs)"
  done
  for m in "$@"; do
    case $m in
      vmkit | vmkit+*) [ -x "$vmkit" ] || die "$vmkit missing (build first)" ;;
      qemu) command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing" ;;
      *) die "unknown monitor '$m' (vmkit, vmkit+OPTION, qemu)" ;;
    esac
  done
}

# make_image FORMAT: a fresh test image in $work; prints its path and qemu format name.
make_image() {
  rm -f "$work"/disk.*
  case $1 in
    raw) fallocate -l "$size" "$work/disk.raw" && echo "$work/disk.raw raw" ;;
    qcow2) qemu-img create -q -f qcow2 "$work/disk.qcow2" "$size" && echo "$work/disk.qcow2 qcow2" ;;
    qcow2-prealloc)
      qemu-img create -q -f qcow2 -o preallocation=falloc "$work/disk.qcow2" "$size" &&
        echo "$work/disk.qcow2 qcow2" ;;
    *) die "unknown format '$1' (raw, qcow2, qcow2-prealloc)" ;;
  esac
}

# monitor_command MONITOR IMAGE FORMAT: sets cmd to the monitor's command line: the same guest
# (1 vCPU, 512 MiB, $work/root.ext4 read-only on vda, IMAGE with serial gbench on vdb). MONITOR
# is vmkit, vmkit+OPTION (OPTION added to the test disk's options) or qemu (as its users tune
# it: q35, an iothread for the test disk).
monitor_command() {
  local monitor=$1 image=$2 fmt=$3 extra=
  case $monitor in
    vmkit | vmkit+*)
      [ "$monitor" = vmkit ] || extra=,${monitor#vmkit+}
      cmd=("$vmkit" run --kernel "$kernel" --initrd "$initrd" --cmdline "$cmdline" --memory 512M
           --cpus 1 --console stdio --no-reboot
           --disk "path=$work/root.ext4,format=raw,readonly=on"
           --disk "path=$image,format=$fmt,serial=gbench,cache=$vmkit_cache$extra") ;;
    qemu)
      cmd=(qemu-system-x86_64 -accel kvm -cpu host -M q35 -smp 1 -m 512M -nodefaults -display none
           -serial stdio -no-reboot -kernel "$kernel" -initrd "$initrd" -append "$cmdline"
           -drive "file=$work/root.ext4,if=none,id=root,format=raw,readonly=on"
           -device virtio-blk-pci,drive=root
           -object iothread,id=io0
           -drive "file=$image,if=none,id=d1,format=$fmt,$qemu_cache"
           -device virtio-blk-pci,drive=d1,iothread=io0,num-queues=1,serial=gbench) ;;
    *) die "unknown monitor '$monitor' (vmkit, vmkit+OPTION, qemu)" ;;
  esac
}

# Median and count of the space-separated numbers on stdin ("-" when there are none).
median() { tr ' ' '\n' | { grep . || true; } | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
count() { tr ' ' '\n' | grep -c . || true; }
