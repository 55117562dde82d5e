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
    blk_seeds(blk)
