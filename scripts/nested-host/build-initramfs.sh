#!/bin/bash
# Builds the nested test host's initramfs for Debian's generic kernel ($VMKIT_CACHE/kernel, see
# guest/fetch-kernel.sh): busybox-static, scripts/nested-host/init as /init, and the modules for
# kvm-amd, 9p over virtio and tun (insmod in `modprobe --show-depends` order), and kvm-hold
# (scripts/nested-host/kvm-hold.c, built static here).
# Output (rebuilt only when an input changes): $VMKIT_CACHE/nested-host/initramfs.cpio.gz
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../guest/lib.sh"

NESTED_MODULES=(kvm-amd virtio_pci 9pnet_virtio 9p tun veth)
kdir=$VMKIT_CACHE/kernel
out=$VMKIT_CACHE/nested-host/initramfs.cpio.gz
[ -f "$kdir/package" ] || die "no generic kernel in $kdir; run guest/fetch-kernel.sh first"
stamp="$(cat "$kdir/package") $(file_digest "$0" "$here/../../guest/lib.sh" "$here/init" "$here/kvm-hold.c" /bin/busybox)"
if stamp_matches "$out.stamp" "$stamp" && [ -f "$out" ]; then
  log "nested host initramfs up to date: $out"
  exit 0
fi
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
copy_busybox "$staging"
mkdir -p "$staging"/{dev,proc,sys,etc/vmkit,newroot}
mknod -m 600 "$staging/dev/console" c 5 1 2>/dev/null || true
install -m 755 "$here/init" "$staging/init"
gcc -O2 -static -Wall -Wextra -Werror -o "$staging/bin/kvm-hold" "$here/kvm-hold.c" ||
  die "cannot build kvm-hold (gcc and libc6-dev are in scripts/packages.txt)"
mods=$(module_load_order "$kdir" "${NESTED_MODULES[@]}")
printf '%s\n' "$mods" >"$staging/etc/vmkit/modules"
for m in $mods; do
  mkdir -p "$staging/$(dirname "$m")"
  cp "$kdir/root/$m" "$staging/$m"
done
make_cpio "$staging" "$out"
echo "$stamp" >"$out.stamp"
log "nested host initramfs ready: $out ($(du -k "$out" | cut -f1) KiB, $(echo "$mods" | wc -w) modules)"
