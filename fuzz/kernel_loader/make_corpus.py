#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_kernel_loader: a minimal bzImage and a minimal PVH ELF
vmlinux, laid out like the unit tests' synthetic kernels (tests/unit/arch/x86_64)."""
import os
import struct

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(here, exist_ok=True)

# bzImage: 4 setup sectors + boot sector, then the payload; setup header at 0x1f1.
payload = 0x1000
image = bytearray(5 * 512 + payload)
image[0x1f1] = 4                                      # setup_sects
struct.pack_into("<I", image, 0x1f4, payload // 16)   # syssize
struct.pack_into("<H", image, 0x1fe, 0xAA55)          # boot_flag
image[0x202:0x206] = b"HdrS"
struct.pack_into("<H", image, 0x206, 0x020f)          # version
image[0x211] = 0x01                                   # loadflags: LOADED_HIGH
struct.pack_into("<I", image, 0x22c, 0x7fffffff)      # initrd_addr_max
struct.pack_into("<I", image, 0x230, 0x200000)        # kernel_alignment
image[0x234] = 1                                      # relocatable_kernel
struct.pack_into("<H", image, 0x236, 0x1)             # xloadflags: XLF_KERNEL_64
struct.pack_into("<I", image, 0x238, 2047)            # cmdline_size
struct.pack_into("<Q", image, 0x258, 0x1000000)       # pref_address
struct.pack_into("<I", image, 0x260, 0x800000)        # init_size
for i in range(payload):
    image[5 * 512 + i] = i & 0xff
open(os.path.join(here, "bzimage"), "wb").write(image)

# ELF64 with PT_LOAD and a PT_NOTE holding XEN_ELFNOTE_PHYS32_ENTRY (type 18).
elf = bytearray(0x400)
ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
struct.pack_into("<16sHHIQQQIHHHHHH", elf, 0, ident, 2, 62, 1, 0x100004, 64, 0, 0, 64, 56, 2,
                 64, 0, 0)
struct.pack_into("<IIQQQQQQ", elf, 64, 1, 7, 0x200, 0x100000, 0x100000, 0x10, 0x1000, 0x1000)
struct.pack_into("<IIQQQQQQ", elf, 120, 4, 4, 0x300, 0, 0, 20, 20, 4)
struct.pack_into("<III4sI", elf, 0x300, 4, 4, 18, b"Xen\0", 0x100004)
elf[0x200:0x210] = b"\xcc" * 16
open(os.path.join(here, "pvh.elf"), "wb").write(elf)
