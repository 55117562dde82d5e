#!/bin/bash
# Fetches Debian's current 6.1 kernels with `apt-get download` and unpacks them into the cache
# (never installing them on the host), with modules.dep made by `depmod -b`:
#   $VMKIT_CACHE/kernel/        the generic linux-image-6.1.0-*-amd64 (what linux-image-amd64 pulls)
#   $VMKIT_CACHE/kernel-cloud/  linux-image-6.1.0-*-cloud-amd64 (what linux-image-cloud-amd64 pulls)
# Each holds vmlinuz (the bzImage), release (e.g. 6.1.0-56-amd64), package (name=version),
# config, System.map and root/ (the unpacked package: root/lib/modules/<release>/...).
# A kernel is fetched again only when apt's candidate version changes. Without apt lists (offline),
# an already cached kernel is kept.
# Usage: guest/fetch-kernel.sh [generic|cloud]...   (default: both)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# resolve META: the package name and candidate version the metapackage depends on.
resolve() {
  local meta=$1 pkg ver
  pkg=$(apt-cache depends "$meta" 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ { print $2; exit }') || true
  [ -n "$pkg" ] || return 1
  ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ { print $2; exit }')
  [ -n "$ver" ] && [ "$ver" != "(none)" ] || return 1
  echo "$pkg=$ver"
}

fetch() {
  local flavour=$1 meta dir
  case $flavour in
    generic) meta=linux-image-amd64 dir=$VMKIT_CACHE/kernel ;;
    cloud) meta=linux-image-cloud-amd64 dir=$VMKIT_CACHE/kernel-cloud ;;
    *) die "unknown kernel flavour '$flavour' (generic or cloud)" ;;
  esac
  local want
  if ! want=$(resolve "$meta"); then
    if [ -f "$dir/package" ]; then
      log "apt cannot resolve $meta (no apt lists?); keeping cached $(cat "$dir/package")"
      return 0
    fi
    die "apt cannot resolve $meta; run 'apt-get update' first"
  fi
  if stamp_matches "$dir/package" "$want" && [ -f "$dir/vmlinuz" ]; then
    log "$flavour kernel up to date: $want"
    return 0
  fi
  local pkg=${want%%=*} ver=${want#*=}
  local debs=$VMKIT_CACHE/debs
  mkdir -p "$debs"
  local deb
  deb=$(ls "$debs/${pkg}_${ver//:/%3a}_amd64.deb" 2>/dev/null || true)
  if [ -z "$deb" ]; then
    log "downloading $want"
    # apt-get download writes to the current directory; as root it warns that _apt cannot
    # write there, which is harmless.
    (cd "$debs" && apt-get download -q "$want" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
      die "apt-get download $want failed"
    deb=$(ls "$debs/${pkg}_"*"_amd64.deb" | grep -F "_${ver//:/%3a}_" | head -n1)
  fi
  [ -f "$deb" ] || die "downloaded package for $want not found in $debs"
  log "unpacking $(basename "$deb")"
  local tmp=$dir.tmp.$$
  rm -rf "$tmp"
  mkdir -p "$tmp/root"
  dpkg-deb -x "$deb" "$tmp/root"
  local rel
  rel=$(ls "$tmp/root/lib/modules")
  [ "$(echo "$rel" | wc -l)" = 1 ] || die "expected one kernel release in $deb, got: $rel"
  depmod -b "$tmp/root" "$rel"
  ln -s "root/boot/vmlinuz-$rel" "$tmp/vmlinuz"
  ln -s "root/boot/config-$rel" "$tmp/config"
  ln -s "root/boot/System.map-$rel" "$tmp/System.map"
  echo "$rel" >"$tmp/release"
  echo "$want" >"$tmp/package"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  # Older .debs of this flavour are not needed any more.
  local old
  for old in "$debs"/linux-image-*.deb; do
    [ "$old" != "$deb" ] || continue
    case "$(basename "$old")" in
      *-cloud-amd64_*) [ "$flavour" = cloud ] && rm -f "$old" ;;
      *-amd64_*) [ "$flavour" = generic ] && rm -f "$old" ;;
    esac
  done
  log "$flavour kernel ready: $dir/vmlinuz ($rel)"
}

flavours=("$@")
[ ${#flavours[@]} -gt 0 ] || flavours=(generic cloud)
for f in "${flavours[@]}"; do fetch "$f"; done
