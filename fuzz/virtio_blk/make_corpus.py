#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/virtqueue and fuzz/virtio_blk (input format: layout.h)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
NEXT, WRITE, INDIRECT = 1, 2, 4


def align(v, a):
    return (v + a - 1) & ~(a - 1)


class Image:
    """A guest memory image with a split ring of `qsize` entries at address 0."""

    def __init__(self, qsize):
        self.qsize = qsize
        self.avail = 16 * qsize
        self.used = align(self.avail + 6 + 2 * qsize, 4)
        self.data = align(self.used + 6 + 8 * qsize, 256)
        self.mem = bytearray(self.data)
        self.next_desc = 0
        self.avail_idx = 0

    def buf(self, payload):
        at = len(self.mem)
        self.mem += payload
        self.mem += bytes(align(len(self.mem), 16) - len(self.mem))
        return at

    def desc(self, table, index, addr, length, flags, nxt):
        struct.pack_into('<QIHH', self.mem, table + 16 * index, addr, length, flags, nxt)

    def chain(self, parts, indirect=False):
        """parts: bytes (device-readable) or int (device-writable length)."""
        items = []
        for p in parts:
            if isinstance(p, int):
                items.append((self.buf(bytes(p)), p, WRITE))
            else:
                items.append((self.buf(p), len(p), 0))
        if indirect:
            table = self.buf(bytes(16 * len(items)))
            for i, (a, n, f) in enumerate(items):
                last = i + 1 == len(items)
                self.desc(table, i, a, n, f | (0 if last else NEXT), 0 if last else i + 1)
            items = [(table, 16 * len(items), INDIRECT)]
        idx = [self.next_desc + i for i in range(len(items))]
        self.next_desc += len(items)
        for i, (a, n, f) in enumerate(items):
            last = i + 1 == len(items)
            self.desc(0, idx[i], a, n, f | (0 if last else NEXT), 0 if last else idx[i + 1])
        return idx[0]

    def publish(self, head):
        struct.pack_into('<H', self.mem, self.avail + 4 + 2 * (self.avail_idx % self.qsize), head)
        self.avail_idx += 1
        struct.pack_into('<H', self.mem, self.avail + 2, self.avail_idx)

    def input(self, byte0, byte1):
        return bytes([byte0, byte1]) + bytes(self.mem)


def qbyte(qsize, event_idx=True, indirect=True):
    b = qsize.bit_length() - 1
    return b | (0x08 if event_idx else 0) | (0x10 if indirect else 0)


def blk_header(t, sector):
    return struct.pack('<IIQ', t, 0, sector)


def write(path, data):
    with open(path, 'wb') as f:
        f.write(data)


def virtqueue_seeds(out):
    img = Image(8)
    img.publish(img.chain([b'hello', 64, 1]))
    write(f'{out}/direct', img.input(qbyte(8), 0))
    img = Image(8)
    img.publish(img.chain([b'head' * 4, 512, 1], indirect=True))
    img.publish(img.chain([b'x', 8]))
    write(f'{out}/indirect', img.input(qbyte(8), 0))
    img = Image(4)
    img.desc(0, 0, img.buf(bytes(16)), 16, NEXT, 1)
    img.desc(0, 1, img.buf(bytes(16)), 16, NEXT, 0)
    img.publish(0)
    write(f'{out}/loop', img.input(qbyte(4, indirect=False), 0))


def op(kind, width, offset, value):
    return struct.pack('<BBHI', kind, {1: 0, 2: 1, 4: 2, 8: 3}[width], offset, value)


CFG_WRITE, MMIO_WRITE, MMIO_READ, SERVE, CONFIG_CHANGE, RESET = 1, 3, 2, 6, 7, 8


def transport_seeds(out):
    """Linux's virtio_pci_modern bring-up as register traffic (fuzz_transport.h)."""
    img = Image(16)
    img.publish(img.chain([b'request', 32]))
    ops = [op(CFG_WRITE, 2, 0x04, 0x6), op(CFG_WRITE, 2, 0x9a, 0x8000)]
    for v in range(3):
        ops += [op(MMIO_WRITE, 4, 0x4000 + 16 * v, 0xfee00000),
                op(MMIO_WRITE, 4, 0x4008 + 16 * v, 0x40 + v),
                op(MMIO_WRITE, 4, 0x400c + 16 * v, 0)]
    ops += [op(MMIO_WRITE, 1, 0x14, 0), op(MMIO_WRITE, 1, 0x14, 3),
            op(MMIO_WRITE, 4, 0x08, 1), op(MMIO_WRITE, 4, 0x0c, 1),
            op(MMIO_WRITE, 4, 0x08, 0), op(MMIO_WRITE, 4, 0x0c, (1 << 29) | (1 << 28) | 1),
            op(MMIO_WRITE, 1, 0x14, 0xb), op(MMIO_READ, 1, 0x14, 0),
            op(MMIO_WRITE, 2, 0x10, 2)]
    for q, (size, desc) in enumerate([(16, 0), (8, 0x1000)]):
        avail = desc + 16 * size
        used = align(avail + 6 + 2 * size, 4)
        ops += [op(MMIO_WRITE, 2, 0x16, q), op(MMIO_WRITE, 2, 0x18, size),
                op(MMIO_WRITE, 8, 0x20, desc), op(MMIO_WRITE, 4, 0x28, avail),
                op(MMIO_WRITE, 4, 0x2c, 0), op(MMIO_WRITE, 8, 0x30, used),
                op(MMIO_WRITE, 2, 0x1a, q), op(MMIO_WRITE, 2, 0x1c, 1)]
    ops += [op(MMIO_WRITE, 1, 0x14, 0xf), op(MMIO_WRITE, 2, 0x3000, 0), op(SERVE, 1, 0, 0),
            op(CONFIG_CHANGE, 1, 0, 0), op(MMIO_READ, 4, 0x2000, 0), op(RESET, 1, 0, 0)]
    write(f'{out}/transport', bytes([0xc0, len(ops)]) + b''.join(ops) + bytes(img.mem))


def blk_seeds(out):
    for i, text in enumerate([b'path=disk.img', b'disk.img,readonly=on,serial=S1,cache=none',
                              b'path=a,,b,format=qcow2,queues=4', b'path=x,cache=bogus']):
        write(f'{out}/options{i}', b'\0' + text)
    requests = {
        'read': [blk_header(0, 8), 1024, 1],
        'write': [blk_header(1, 16), bytes(range(256)) * 2, 1],
        'flush': [blk_header(4, 0), 1],
        'get_id': [blk_header(8, 0), 20, 1],
        'discard': [blk_header(11, 0) + struct.pack('<QII', 8, 8, 0), 1],
        'write_zeroes': [blk_header(13, 0) + struct.pack('<QII', 0, 16, 1), 1],
        'unsupported': [blk_header(10, 0), 8, 1],
    }
    for name, parts in requests.items():
        img = Image(16)
        img.publish(img.chain(parts))
        img.publish(img.chain(parts, indirect=True))
        write(f'{out}/{name}', img.input(qbyte(16), 0x80))


if __name__ == '__main__':
    vq = os.path.join(HERE, '..', 'virtqueue', 'corpus')
    blk = os.path.join(HERE, 'corpus')
    os.makedirs(vq, exist_ok=True)
    os.makedirs(blk, exist_ok=True)
    virtqueue_seeds(vq)
    transport_seeds(vq)
    blk_seeds(blk)
