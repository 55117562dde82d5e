#!/bin/bash
# The network additions of the test guest (issue 4): what the network tests and benchmark run in
# the guest, on top of the Debian root (guest/build-rootfs.sh debian, which already installs
# iproute2, iperf3 and dropbear-bin from Debian):
#   /usr/share/udhcpc/default.script   busybox udhcpc's hook: addresses, routes, resolv.conf
#   /usr/local/sbin/vmkit-net-up [IF]  link up + DHCP lease (udhcpc), prints VMKIT-NET-UP <addr>
#   /usr/local/sbin/vmkit-sshd         dropbear on port 22, key authentication only
#   /etc/dropbear/dropbear_ed25519_host_key   generated once into the cache (not committed)
#   /root/.ssh/authorized_keys         the test key's public half
#   /usr/local/bin/tcp_rr              bench/net/tcp_rr.c, static (request/response latency)
# The test key pair lives in $VMKIT_CACHE/net/ (id_ed25519, id_ed25519.pub, known_hosts line);
# tests use it with `ssh -i $VMKIT_CACHE/net/id_ed25519`.
#
# Usage:
#   guest/net-tools.sh install ROOT   add the files to a root tree (build-rootfs.sh calls this
#                                     before mkfs, see "Hook" below)
#   guest/net-tools.sh image          build $VMKIT_CACHE/images/rootfs-net.ext4 from
#                                     rootfs-debian.ext4 (no mount needed: debugfs rdump)
#   guest/net-tools.sh key            only make the test key pair; prints the private key path
# Hook (for guest/build-rootfs.sh build_debian): call "$here/net-tools.sh" install "$tree"
# before make_ext4, and add "$here/net-tools.sh" "$here/../bench/net/tcp_rr.c" to its stamp.
# Needs: openssh-client (ssh-keygen), dropbear-bin (dropbearkey), gcc, e2fsprogs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

keys=$VMKIT_CACHE/net

make_keys() {
  mkdir -p "$keys"
  chmod 700 "$keys"
  if [ ! -f "$keys/id_ed25519" ]; then
    command -v ssh-keygen >/dev/null || die "ssh-keygen missing; install openssh-client"
    ssh-keygen -q -t ed25519 -N '' -C vmkit-test -f "$keys/id_ed25519"
  fi
  if [ ! -f "$keys/dropbear_ed25519_host_key" ]; then
    command -v dropbearkey >/dev/null || die "dropbearkey missing; install dropbear-bin"
    dropbearkey -t ed25519 -f "$keys/dropbear_ed25519_host_key" >/dev/null 2>&1
  fi
  # A known_hosts line for any address (tests pass -o UserKnownHostsFile=this file).
  local pub
  pub=$(dropbearkey -y -f "$keys/dropbear_ed25519_host_key" | grep '^ssh-ed25519' | cut -d' ' -f1-2)
  echo "* $pub" >"$keys/known_hosts.tmp"
  mv -f "$keys/known_hosts.tmp" "$keys/known_hosts"
}

install_tree() {
  local root=$1
  [ -d "$root" ] || die "no root tree at $root"
  make_keys
  install -D -m 755 /dev/stdin "$root/usr/share/udhcpc/default.script" <<'SCRIPT'
#!/bin/sh
# busybox udhcpc hook (vmkit test guest): configure $interface from the lease.
case "$1" in
  deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then
      ip route del default 2>/dev/null
      for r in $router; do ip route add default via "$r" dev "$interface"; break; done
    fi
    : >/etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
    ;;
esac
exit 0
SCRIPT
  install -D -m 755 /dev/stdin "$root/usr/local/sbin/vmkit-net-up" <<'SCRIPT'
#!/bin/sh
# vmkit-net-up [IFACE]: bring IFACE (default: the first ethX) up and get a DHCP lease.
if=${1:-$(ls /sys/class/net | grep -m1 '^e')}
[ -n "$if" ] || { echo "vmkit-net-up: no network interface" >&2; exit 1; }
ip link set lo up
ip link set "$if" up
busybox udhcpc -i "$if" -q -n -t 10 -T 1 -s /usr/share/udhcpc/default.script >/dev/null 2>&1 ||
  { echo "vmkit-net-up: no DHCP lease on $if" >&2; exit 1; }
echo "VMKIT-NET-UP $(ip -4 -o addr show dev "$if" | awk '{print $4}')"
SCRIPT
  install -D -m 755 /dev/stdin "$root/usr/local/sbin/vmkit-sshd" <<'SCRIPT'
#!/bin/sh
# vmkit-sshd: dropbear on port 22 in the background, keys only (no passwords).
mkdir -p /var/log /var/run /run
exec dropbear -s -g -p 22 -r /etc/dropbear/dropbear_ed25519_host_key -P /run/dropbear.pid
SCRIPT
  install -D -m 600 "$keys/dropbear_ed25519_host_key" \
    "$root/etc/dropbear/dropbear_ed25519_host_key"
  install -D -m 600 "$keys/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
  chmod 700 "$root/root/.ssh"
  # root's shell must exist for dropbear (Debian's /bin/sh is dash; busybox sh works too).
  grep -q '^root:' "$root/etc/passwd" 2>/dev/null || echo "root:x:0:0:root:/root:/bin/sh" >>"$root/etc/passwd"
  command -v gcc >/dev/null || die "gcc missing (for tcp_rr)"
  mkdir -p "$root/usr/local/bin"
  gcc -O2 -static -o "$root/usr/local/bin/tcp_rr" "$here/../bench/net/tcp_rr.c"
}

build_image() {
  local base=$VMKIT_CACHE/images/rootfs-debian.ext4 out=$VMKIT_CACHE/images/rootfs-net.ext4
  [ -f "$base" ] || die "$base missing; run guest/build-rootfs.sh debian first"
  local stamp
  stamp="$(file_digest "$0" "$here/lib.sh" "$here/../bench/net/tcp_rr.c" "$keys/id_ed25519.pub") $(stat -c %Y "$base")"
  if stamp_matches "$out.stamp" "$stamp" && [ -f "$out" ]; then
    log "network rootfs up to date: $out"
    return 0
  fi
  local tree
  tree=$(mktemp -d)
  trap 'rm -rf "$tree"' RETURN
  debugfs -R "rdump / $tree" "$base" >/dev/null 2>&1 || die "debugfs could not read $base"
  rm -rf "$tree/lost+found"
  install_tree "$tree"
  local size
  size=$(du -sm "$tree" | cut -f1)
  rm -f "$out.tmp"
  mkfs.ext4 -q -F -L vmkit-root -E root_owner=0:0 -d "$tree" "$out.tmp" "$((size + size / 2 + 64))M" >/dev/null
  mv -f "$out.tmp" "$out"
  echo "$stamp" >"$out.stamp"
  log "network rootfs ready: $out"
}

case ${1:-} in
  install) [ $# -eq 2 ] || die "usage: $0 install ROOT"; install_tree "$2" ;;
  image) make_keys; build_image ;;
  key) make_keys; echo "$keys/id_ed25519" ;;
  *) die "usage: $0 install ROOT | image | key" ;;
esac
