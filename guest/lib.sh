# Shared helpers for the guest and nested-host image scripts (sourced, not run).
# Cache layout (all outside the repository), see docs/testing.md:
#   $VMKIT_CACHE/debs/                      downloaded .deb files
#   $VMKIT_CACHE/kernel/{vmlinuz,release,root/}        Debian's generic kernel, unpacked
#   $VMKIT_CACHE/kernel-cloud/{vmlinuz,release,root/}  Debian's cloud kernel, unpacked
#   $VMKIT_CACHE/images/initramfs.cpio.gz         guest initramfs for the generic kernel
#   $VMKIT_CACHE/images/initramfs-cloud.cpio.gz   guest initramfs for the cloud kernel
#   $VMKIT_CACHE/images/rootfs-busybox.ext4       busybox root file system (root=/dev/vda)
#   $VMKIT_CACHE/images/rootfs-debian.ext4        debootstrap minbase + fio, iperf3, dropbear
#   $VMKIT_CACHE/nested-host/initramfs.cpio.gz    the nested test host's initramfs

VMKIT_CACHE=${VMKIT_CACHE:-$HOME/.cache/vmkit}
export VMKIT_CACHE

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# stamp_matches FILE CONTENT: true if FILE exists and holds exactly CONTENT.
stamp_matches() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

# file_digest FILE...: one sha256 over the given files' contents (missing files count as empty).
file_digest() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

# kernel_release DIR: the unpacked kernel's release string (e.g. 6.1.0-56-amd64).
kernel_release() {
  [ -f "$1/release" ] || die "no kernel in $1; run guest/fetch-kernel.sh first"
  cat "$1/release"
}

# module_load_order KDIR MODULE...: the .ko paths (relative to KDIR/root) to insmod, in
# `modprobe --show-depends` order, each once; built-in modules are left out.
module_load_order() {
  local kdir=$1 rel
  shift
  rel=$(kernel_release "$kdir")
  local m
  for m in "$@"; do
    modprobe -d "$kdir/root" -S "$rel" --show-depends "$m" ||
      die "module $m not found for kernel $rel"
  done | awk '$1 == "insmod" { p = $2; sub("^.*/lib/modules/", "lib/modules/", p);
                               if (!(p in seen)) { seen[p] = 1; print p } }'
}

# copy_busybox DEST: a static busybox in DEST/bin with a symlink per applet.
copy_busybox() {
  local dest=$1 bb=/bin/busybox a
  [ -x "$bb" ] || die "busybox not found; install busybox-static"
  "$bb" --list >/dev/null 2>&1 || die "$bb is not a working busybox"
  if ldd "$bb" >/dev/null 2>&1; then die "$bb is dynamically linked; install busybox-static"; fi
  mkdir -p "$dest/bin" "$dest/sbin" "$dest/usr/bin" "$dest/usr/sbin"
  cp "$bb" "$dest/bin/busybox"
  for a in $("$bb" --list); do
    [ "$a" = busybox ] || ln -sf busybox "$dest/bin/$a"
  done
}

# make_cpio SRC OUT: a gzip'd newc cpio of SRC (owned by root), written atomically.
make_cpio() {
  local src=$1 out=$2
  mkdir -p "$(dirname "$out")"
  (cd "$src" && find . -print0 | LC_ALL=C sort -z |
     cpio --null -o -H newc -R 0:0 --quiet) | gzip -6 -n >"$out.tmp"
  mv -f "$out.tmp" "$out"
}
