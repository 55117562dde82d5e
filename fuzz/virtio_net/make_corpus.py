#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_virtio_net (one file per seed) into corpus/."""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus")
os.makedirs(out, exist_ok=True)


def seed(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes(data))


# 0: options
for i, text in enumerate([b"user", b"user,hostfwd=tcp::2222-:22,mac=52:54:00:12:34:56",
                          b"tap,ifname=tap0,queues=4,link=off", b"user,hostfwd=udp:127.0.0.1:53-10.0.2.15:53"]):
    seed(f"options-{i}", b"\0" + text)

# 1: tx headers (flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers)
all_host = (1 << 0) | (1 << 11) | (1 << 12) | (1 << 13)
for i, (hdr, length) in enumerate([((0, 0, 0, 0, 0, 0, 0), 60),
                                    ((1, 1, 66, 1448, 34, 16, 0), 30000),
                                    ((1, 4, 86, 1428, 54, 16, 0), 30000),
                                    ((1, 0x81, 66, 1448, 34, 16, 0), 30000),
                                    ((1, 0, 0, 0, 65535, 65535, 0), 100)]):
    seed(f"header-{i}", b"\1" + struct.pack("<BBHHHHH", *hdr) + struct.pack("<IQ", length, all_host))

# 2: control commands (features, max pairs, class, cmd, data)
ctrl = (1 << 17) | (1 << 18) | (1 << 19) | (1 << 20) | (1 << 22) | (1 << 23) | (1 << 2) | (1 << 1) | (1 << 7)
cmds = [bytes([0, 0, 1]), bytes([0, 5, 0]),
        bytes([1, 0]) + struct.pack("<I", 1) + bytes([2, 0, 0, 0, 0, 1]) + struct.pack("<I", 1) + bytes([1, 0, 0x5e, 0, 0, 1]),
        bytes([1, 1, 2, 0, 0, 0, 0, 9]), bytes([2, 0, 5, 0]), bytes([4, 0, 2, 0]),
        bytes([5, 0]) + struct.pack("<Q", (1 << 1) | (1 << 7))]
for i, c in enumerate(cmds):
    seed(f"ctrl-{i}", b"\2" + struct.pack("<Q", ctrl) + bytes([4]) + c)


# 3/4: queue paths. Layout: byte0 = size exponent 3 (8 entries) + EVENT_IDX, byte1 = 0,
# flags byte, then memory: descriptor table at 0, avail ring at 128, used ring at 152.
def ring(descs, avail_heads, flags):
    mem = bytearray(0x2000)
    for i, (addr, length, dflags, nxt) in enumerate(descs):
        struct.pack_into("<QIHH", mem, 16 * i, addr, length, dflags, nxt)
    struct.pack_into("<HH", mem, 128, 0, len(avail_heads))
    for i, h in enumerate(avail_heads):
        struct.pack_into("<H", mem, 132 + 2 * i, h)
    return bytes([0x03 | 0x08, 0, flags]) + bytes(mem)


hdr = struct.pack("<BBHHHHH", 0, 0, 0, 0, 0, 0, 0)
frame = bytes(range(60))
tx = ring([(0x1000, 12, 1, 1), (0x1100, 60, 0, 0), (0x1200, 72, 0, 0)], [0, 2], 0)
tx = bytearray(tx)
tx[3 + 0x1000:3 + 0x1000 + 12] = hdr
tx[3 + 0x1100:3 + 0x1100 + 60] = frame
tx[3 + 0x1200:3 + 0x1200 + 72] = hdr + frame
seed("tx-0", b"\3" + bytes(tx))
seed("rx-plain", b"\4" + ring([(0x1000, 1526, 2, 0), (0x1800, 1526, 2, 0)], [0, 1], 0x10))
seed("rx-mergeable", b"\4" + ring([(0x1000 + 0x200 * i, 0x200, 2, 0) for i in range(8)],
                                   list(range(8)), 0x21))
