#!/bin/bash
# Sets up a Debian 12 machine for vmkit, as root (or with sudo): installs scripts/packages.txt,
# fetches Debian's guest kernels and builds the guest images and the nested test host's initramfs
# into ${VMKIT_CACHE:-~/.cache/vmkit} (docs/testing.md lists the paths). Idempotent, and quick
# when everything is there: apt runs only when a package is missing (or --update), and every image
# is rebuilt only when its inputs change.
# Usage: scripts/setup.sh [--update] [--no-images] [--debian-rootfs]
#   --update          apt-get update even if every package is installed (new kernels, fixes)
#   --no-images       packages only
#   --debian-rootfs   also build the Debian minbase root file system (fio, iperf3, dropbear;
#                     debootstrap, about 2 minutes and 500 MB the first time)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

update= images=1 debian=
for arg in "$@"; do
  case $arg in
    --update) update=1 ;;
    --no-images) images= ;;
    --debian-rootfs) debian=1 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: error: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

sudo=
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: error: run as root (or install sudo)" >&2; exit 1; }
  sudo=sudo
fi

mapfile -t packages < <(sed 's/#.*//; /^[[:space:]]*$/d; s/[[:space:]]//g' "$here/packages.txt")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
export DEBIAN_FRONTEND=noninteractive
# The guest kernels come from apt's lists too: a machine without them needs an update.
apt-cache show linux-image-amd64 >/dev/null 2>&1 || update=1
if [ ${#missing[@]} -gt 0 ] || [ -n "$update" ]; then
  echo "setup.sh: apt-get update"
  $sudo apt-get update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup.sh: all ${#packages[@]} packages installed"
fi

[ -n "$images" ] || exit 0
"$root/guest/fetch-kernel.sh" generic cloud
"$root/guest/build-initramfs.sh" generic cloud
"$root/guest/build-rootfs.sh" busybox
[ -z "$debian" ] || "$root/guest/build-rootfs.sh" debian
"$root/scripts/nested-host/build-initramfs.sh"
echo "setup.sh: ready (images in ${VMKIT_CACHE:-$HOME/.cache/vmkit})"
