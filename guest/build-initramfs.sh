#!/bin/bash
# Builds the guest initramfs for Debian's kernels (see guest/fetch-kernel.sh): busybox-static,
# the virtio, ext4 and ACPI button modules (insmod in `modprobe --show-depends` order; built-in ones are left
# out) and guest/init/init as /init. Output (rebuilt only when an input changes):
#   $VMKIT_CACHE/images/initramfs.cpio.gz        for $VMKIT_CACHE/kernel       (generic)
#   $VMKIT_CACHE/images/initramfs-cloud.cpio.gz  for $VMKIT_CACHE/kernel-cloud (cloud)
# Usage: guest/build-initramfs.sh [generic|cloud]...   (default: both)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# button + evdev: the ACPI power button reaches acpid (SIGTERM to vmkit presses it).
GUEST_MODULES=(virtio_pci virtio_mmio virtio_blk virtio_net virtio_console virtio_rng ext4 button evdev)

build() {
  local flavour=$1 kdir out
  case $flavour in
    generic) kdir=$VMKIT_CACHE/kernel out=$VMKIT_CACHE/images/initramfs.cpio.gz ;;
    cloud) kdir=$VMKIT_CACHE/kernel-cloud out=$VMKIT_CACHE/images/initramfs-cloud.cpio.gz ;;
    *) die "unknown kernel flavour '$flavour' (generic or cloud)" ;;
  esac
  [ -f "$kdir/package" ] || die "no $flavour kernel in $kdir; run guest/fetch-kernel.sh first"
  local stamp
  stamp="$(cat "$kdir/package") $(file_digest "$0" "$here/lib.sh" "$here/init/init" "$here/init/power-button" /bin/busybox)"
  if stamp_matches "$out.stamp" "$stamp" && [ -f "$out" ]; then
    log "$flavour initramfs up to date: $out"
    return 0
  fi
  local staging
  staging=$(mktemp -d)
  copy_busybox "$staging"
  mkdir -p "$staging"/{dev,proc,sys,run,tmp,root,etc/vmkit,newroot}
  mknod -m 600 "$staging/dev/console" c 5 1 2>/dev/null || true
  install -m 755 "$here/init/init" "$staging/init"
  install -D -m 755 "$here/init/power-button" "$staging/etc/acpi/PWRF/00000080"
  touch "$staging/etc/vmkit/initramfs"
  local mods
  mods=$(module_load_order "$kdir" "${GUEST_MODULES[@]}")
  printf '%s\n' "$mods" >"$staging/etc/vmkit/modules"
  local m
  for m in $mods; do
    mkdir -p "$staging/$(dirname "$m")"
    cp "$kdir/root/$m" "$staging/$m"
  done
  make_cpio "$staging" "$out"
  rm -rf "$staging"
  echo "$stamp" >"$out.stamp"
  log "$flavour initramfs ready: $out ($(du -k "$out" | cut -f1) KiB, $(echo "$mods" | wc -w) modules)"
}

flavours=("$@")
[ ${#flavours[@]} -gt 0 ] || flavours=(generic cloud)
for f in "${flavours[@]}"; do build "$f"; done
