#!/bin/bash
# Boots Debian's stock kernel in QEMU (TCG, -M microvm with QEMU's own ACPI off) with vmkit's ACPI
# tables loaded at 0xE0000, and checks what Linux makes of them: every CPU, S5, the power button,
# PCI0 with its windows, COM1, RTC, the SCI. A manual check (about 30 s, no /dev/kvm needed) until
# vmkit boots guests itself; not part of the unit suite.
#
#   linux_smoke.sh ACPI_DUMP [KERNEL_DIR]
#
# ACPI_DUMP is the acpi_dump binary from the build (build/tests/unit/arch/x86_64/acpi/acpi_dump).
# KERNEL_DIR holds vmlinuz and root/lib/modules (default ~/.cache/vmkit/kernel, as the project's
# guest-image script unpacks linux-image-*-amd64). CPUS=n (default 4), EXTRA="--ecam --intx ...".
#
# Known microvm artifacts, not table bugs: microvm has no ACPI PM device at the PM1 ports, so
# "Could not disable RealTimeClock events" is logged and poweroff cannot work (the guest ends
# with a triple-fault reboot instead); QEMU wires the PIT to IOAPIC pin 2 where KVM's in-kernel
# PIT uses pin 0, so "MP-BIOS bug: 8254 timer not connected to IO-APIC" is logged.
set -euo pipefail

dump=${1:?usage: linux_smoke.sh ACPI_DUMP [KERNEL_DIR]}
kdir=${2:-$HOME/.cache/vmkit/kernel}
cpus=${CPUS:-4}
kernel=$kdir/vmlinuz
[[ -e $kernel ]] || { echo "linux_smoke: no kernel at $kernel" >&2; exit 1; }
button=$(find "$kdir"/root/lib/modules -name 'button.ko' | head -1)
[[ -n $button ]] || { echo "linux_smoke: no button.ko under $kdir/root/lib/modules" >&2; exit 1; }
command -v busybox >/dev/null || { echo "linux_smoke: needs busybox-static" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2086
"$dump" --cpus "$cpus" ${EXTRA:-} "$work/acpi.bin" >/dev/null

mkdir -p "$work"/initrd/{bin,lib,proc,sys,dev}
cp "$(command -v busybox)" "$work/initrd/bin/busybox"
cp "$button" "$work/initrd/lib/button.ko"
cat >"$work/initrd/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
insmod /lib/button.ko
echo "=== nproc: $(grep -c ^processor /proc/cpuinfo)"
for d in /sys/bus/acpi/devices/*; do echo "acpi: $(basename $d) $(cat $d/path 2>/dev/null)"; done
for d in /sys/bus/pnp/devices/*; do echo "pnp: $(cat $d/id) $(cat $d/resources | tr '\n' ' ')"; done
grep -E ' (4|8|9):' /proc/interrupts | tr -s ' '
echo "=== DONE"
reboot -f
EOF
chmod +x "$work/initrd/init"
(cd "$work/initrd" && find . | cpio -o -H newc 2>/dev/null | gzip >"$work/initrd.gz")

timeout 300 qemu-system-x86_64 -M microvm,acpi=off,pit=on,pic=on,rtc=on,isa-serial=on \
  -accel tcg -cpu max -m 512 -smp "$cpus" -nographic -no-reboot \
  -kernel "$kernel" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 reboot=t panic=-1 loglevel=7" \
  -device loader,file="$work/acpi.bin",addr=0xe0000,force-raw=on >"$work/log" 2>&1 || true

failed=0
expect() {
  if ! grep -qF -- "$1" "$work/log"; then
    echo "linux_smoke: FAIL: missing \"$1\"" >&2
    failed=1
  fi
}
expect "=== nproc: $cpus"
expect "ACPI: RSDP 0x00000000000E0000"
expect "ACPI: PM: (supports S0 S5)"
expect "ACPI: INT_SRC_OVR (bus 0 bus_irq 9 global_irq 9 high level)"
expect "ACPI: LAPIC_NMI (acpi_id[0xff] dfl dfl lint[0x1])"
expect "ACPI: PCI Root Bridge [PCI0] (domain 0000 [bus 00-ff])"
expect "root bus resource [mem 0xc0000000-0xdfffffff window]"
expect "root bus resource [io  0x0d00-0xffff window]"
expect "ACPI: button: Power Button [PWRF]"
expect "acpi: PNP0501:00 \\_SB_.COM1"
expect "acpi: PNP0B00:00 \\_SB_.RTC_"
expect "acpi: ACPI0007:00 \\_SB_.C000"
expect "acpi: LNXPWRBN:00"
expect "pnp: PNP0501 state = active io 0x3f8-0x3ff irq 4"
expect "pnp: PNP0b00 state = active io 0x70-0x71 irq 8"
expect "9: 0"
expect "=== DONE"
if grep -E "ACPI BIOS (Error|Warning)|ACPI Warning|Firmware Bug|ACPI Error" "$work/log" |
  grep -v "Could not disable RealTimeClock events"; then
  echo "linux_smoke: FAIL: ACPI complaints above" >&2
  failed=1
fi
if ((failed)); then
  echo "---- guest log ----" >&2
  cat "$work/log" >&2
  exit 1
fi
echo "linux_smoke: OK ($cpus CPUs ${EXTRA:-})"
grep -E "ACPI: (RSDP|XSDT|FACP|DSDT|APIC|MCFG)|smpboot: Total|PCI Root Bridge|Power Button \[" "$work/log"
