#!/bin/bash
# Builds ext4 root file system images for guests that boot with root=/dev/vda (a virtio-blk
# disk): the guest initramfs loads the virtio and ext4 modules, mounts the disk and switch_roots
# to its /init (guest/init/init again, which then runs the shell or vmkit_run= command).
#   busybox  $VMKIT_CACHE/images/rootfs-busybox.ext4  (64 MiB) busybox-static and the guest init
#   debian   $VMKIT_CACHE/images/rootfs-debian.ext4   Debian 12 `debootstrap --variant=minbase`
#            with fio, iperf3, dropbear, iproute2 and the guest init (the debootstrap tree is
#            cached as $VMKIT_CACHE/debootstrap/bookworm-minbase.tar; it needs the Debian mirror)
# Images are rebuilt only when an input changes. They are templates: tests copy them before
# writing (or attach them read-only).
# Usage: guest/build-rootfs.sh [busybox|debian]...   (default: busybox)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

DEBIAN_SUITE=bookworm
DEBIAN_PACKAGES=fio,iperf3,dropbear-bin,iproute2,procps
images=$VMKIT_CACHE/images

# install_guest_init ROOT: the guest init, its power-button handler and a static busybox.
install_guest_init() {
  local root=$1
  install -D -m 755 "$here/init/init" "$root/init"
  install -D -m 755 "$here/init/power-button" "$root/etc/acpi/PWRF/00000080"
  mkdir -p "$root"/{dev,proc,sys,run,tmp,root}
}

# make_ext4 TREE OUT SIZE_MIB: an ext4 image of TREE, owned by root, written atomically.
make_ext4() {
  local tree=$1 out=$2 size=$3
  rm -f "$out.tmp"
  mkfs.ext4 -q -F -L vmkit-root -E root_owner=0:0 -d "$tree" "$out.tmp" "${size}M" >/dev/null
  mv -f "$out.tmp" "$out"
}

build_busybox() {
  local out=$images/rootfs-busybox.ext4 stamp
  stamp=$(file_digest "$0" "$here/lib.sh" "$here/init/init" "$here/init/power-button" /bin/busybox)
  if stamp_matches "$out.stamp" "$stamp" && [ -f "$out" ]; then
    log "busybox rootfs up to date: $out"
    return 0
  fi
  local tree
  tree=$(mktemp -d)
  copy_busybox "$tree"
  install_guest_init "$tree"
  mkdir -p "$tree/etc"
  echo vmkit-guest >"$tree/etc/hostname"
  echo "root:x:0:0:root:/root:/bin/sh" >"$tree/etc/passwd"
  echo "root:x:0:" >"$tree/etc/group"
  mkdir -p "$images"
  make_ext4 "$tree" "$out" 64
  rm -rf "$tree"
  echo "$stamp" >"$out.stamp"
  log "busybox rootfs ready: $out"
}

# The mirror apt uses (deb822 sources or sources.list), else deb.debian.org.
debian_mirror() {
  local uri
  uri=$(grep -hs -m1 '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{ print $2 }' |
        grep -v security | head -n1 || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' \
                         /etc/apt/sources.list 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

build_debian() {
  local out=$images/rootfs-debian.ext4 tar=$VMKIT_CACHE/debootstrap/$DEBIAN_SUITE-minbase.tar
  command -v debootstrap >/dev/null || die "debootstrap missing; install it (scripts/setup.sh)"
  local tar_stamp="$DEBIAN_SUITE $DEBIAN_PACKAGES"
  if ! stamp_matches "$tar.stamp" "$tar_stamp" || [ ! -f "$tar" ]; then
    local tree mirror
    mirror=$(debian_mirror)
    tree=$(mktemp -d)
    log "debootstrap --variant=minbase $DEBIAN_SUITE from $mirror (a few minutes)"
    debootstrap --variant=minbase --include="$DEBIAN_PACKAGES" "$DEBIAN_SUITE" "$tree" "$mirror" \
      >"$tree.log" 2>&1 || { tail -n 20 "$tree.log" >&2; rm -rf "$tree" "$tree.log"; die "debootstrap failed"; }
    rm -rf "$tree/var/cache/apt/archives/"*.deb "$tree/var/lib/apt/lists/"* "$tree.log"
    mkdir -p "$(dirname "$tar")"
    tar -C "$tree" --numeric-owner -cf "$tar.tmp" .
    mv -f "$tar.tmp" "$tar"
    rm -rf "$tree"
    echo "$tar_stamp" >"$tar.stamp"
  fi
  local stamp
  stamp="$(file_digest "$tar.stamp" "$0" "$here/lib.sh" "$here/init/init" "$here/init/power-button" /bin/busybox "$here/net-tools.sh" "$here/../bench/net/tcp_rr.c") $(stat -c %Y "$tar")"
  if stamp_matches "$out.stamp" "$stamp" && [ -f "$out" ]; then
    log "debian rootfs up to date: $out"
    return 0
  fi
  local tree
  tree=$(mktemp -d)
  tar -C "$tree" --numeric-owner -xf "$tar"
  install -m 755 /bin/busybox "$tree/usr/bin/busybox"
  [ -e "$tree/bin/busybox" ] || ln -s /usr/bin/busybox "$tree/bin/busybox"
  install_guest_init "$tree"
  echo vmkit-guest >"$tree/etc/hostname"
  # Networking for the guest tests and benchmarks: DHCP hook, dropbear with the test key, tcp_rr.
  "$here/net-tools.sh" install "$tree"
  local size
  size=$(du -sm "$tree" | cut -f1)
  make_ext4 "$tree" "$out" $((size + size / 2 + 64))
  rm -rf "$tree"
  echo "$stamp" >"$out.stamp"
  log "debian rootfs ready: $out ($(du -m "$out" | cut -f1) MiB allocated)"
}

kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(busybox)
for k in "${kinds[@]}"; do
  case $k in
    busybox) build_busybox ;;
    debian) build_debian ;;
    *) die "unknown rootfs '$k' (busybox or debian)" ;;
  esac
done
