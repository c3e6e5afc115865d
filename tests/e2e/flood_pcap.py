#!/usr/bin/python3
"""Writes a capture (pcap, raw IPv4) of two WebSocket connections to port 7272:

  flood_pcap.py OUT.pcap FRAMES

1. 127.0.0.1:40001, a flood: FRAMES empty masked binary frames from the
   client in segments of 1000 frames, 1 ms apart; then, 30 seconds later,
   one text frame "after the flood"; then a close each way and FIN.
2. 127.0.0.1:40002, chat-like: 20 text messages "hello N" a second apart
   each way, interleaved with the flood; then a close each way and FIN.

Every segment is acknowledged, so the capture reads as a real one.
"""
import struct
import sys

SERVER = (b"\x7f\x00\x00\x01", 7272)
REQ = (b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:7272\r\nUpgrade: websocket\r\n"
       b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
       b"Sec-WebSocket-Version: 13\r\n\r\n")
RESP = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
MASK = b"\x01\x02\x03\x04"


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def frame(op, payload, masked):
    b = bytes([0x80 | op])
    n = len(payload)
    assert n < 126
    if masked:
        return b + bytes([0x80 | n]) + MASK + bytes(c ^ MASK[i % 4] for i, c in enumerate(payload))
    return b + bytes([n]) + payload


class Conn:
    def __init__(self, out, cport):
        self.out = out
        self.c = (b"\x7f\x00\x00\x01", cport)
        self.seq = {0: 1000, 1: 5000}

    def pkt(self, ts, d, flags, payload=b""):
        src, dst = (self.c, SERVER) if d == 0 else (SERVER, self.c)
        tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], self.seq[d], self.seq[1 - d],
                          5 << 4, flags, 65000, 0, 0)
        seg = tcp + payload
        pseudo = src[0] + dst[0] + struct.pack("!BBH", 0, 6, len(seg))
        seg = seg[:16] + struct.pack("!H", csum(pseudo + seg)) + seg[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 0, 0x4000, 64, 6, 0, src[0], dst[0])
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        data = ip + seg
        sec, usec = int(ts), int(round((ts - int(ts)) * 1e6))
        self.out.append((ts, struct.pack("<IIII", sec, usec, len(data), len(data)) + data))
        self.seq[d] = (self.seq[d] + len(payload) + (1 if flags & 0x03 else 0)) & 0xffffffff

    def data(self, ts, d, payload):
        self.pkt(ts, d, 0x18, payload)
        self.pkt(ts + 0.00001, 1 - d, 0x10)

    def open(self, ts):
        self.seq[0] -= 1
        self.pkt(ts, 0, 0x02)
        self.seq[1] -= 1
        self.pkt(ts + 0.0001, 1, 0x12)
        self.pkt(ts + 0.0002, 0, 0x10)
        self.data(ts + 0.001, 0, REQ)
        self.data(ts + 0.002, 1, RESP)

    def close(self, ts):
        self.data(ts, 0, frame(8, b"\x03\xe8", True))
        self.data(ts + 0.001, 1, frame(8, b"\x03\xe8", False))
        self.pkt(ts + 0.002, 1, 0x11)
        self.pkt(ts + 0.003, 0, 0x11)
        self.pkt(ts + 0.004, 1, 0x10)


def main():
    path, frames = sys.argv[1], int(sys.argv[2])
    out = []
    t0 = 1764000000.0
    flood, chat = Conn(out, 40001), Conn(out, 40002)
    flood.open(t0)
    chat.open(t0 + 0.5)
    empty = frame(2, b"", True)
    sent, ts = 0, t0 + 1
    while sent < frames:
        n = min(1000, frames - sent)
        flood.data(ts, 0, empty * n)
        sent += n
        ts += 0.001
    for i in range(20):
        chat.data(t0 + 1 + i, 0, frame(1, b"hello %d" % i, True))
        chat.data(t0 + 1.5 + i, 1, frame(1, b"hello %d" % i, False))
    end = max(ts, t0 + 22)
    flood.data(end + 30, 0, frame(1, b"after the flood", True))
    flood.close(end + 31)
    chat.close(end + 32)
    out.sort(key=lambda r: r[0])
    with open(path, "wb") as fp:
        fp.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
        for _, rec in out:
            fp.write(rec)


if __name__ == "__main__":
    main()
